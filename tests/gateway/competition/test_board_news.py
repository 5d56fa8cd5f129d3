"""Live boards across workers: a change stored by one process wakes the board streams of another."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from gateway.competition.board_news import BoardNews
from gateway.competition.results import Competitions
from gateway.state import StateDB
from tests.conftest import drop_pg_database, fresh_pg_database
from tests.services import PostgresProcess


@pytest.fixture
def pg_url(postgres: PostgresProcess) -> Iterator[str]:
    name = fresh_pg_database(postgres)
    yield postgres.url(name)
    drop_pg_database(postgres, name)


def test_a_change_on_one_worker_wakes_the_board_streams_of_the_other(pg_url: str) -> None:
    dbs = [StateDB(pg_url), StateDB(pg_url)]
    workers = [Competitions(db) for db in dbs]
    news = [BoardNews(db, c.changed_elsewhere) for db, c in zip(dbs, workers, strict=True)]
    for sender, competitions in zip(news, workers, strict=True):
        competitions.on_changed.append(sender.tell)
        sender.start()
    try:
        assert all(n.listening.wait(5) for n in news)

        async def marks() -> tuple[bool, bool]:
            loop = asyncio.get_running_loop()
            cup = workers[1].hub.subscribe("cup", loop)
            other = workers[1].hub.subscribe("other-cup", loop)
            workers[0].changed("cup")  # as after a consumer step on the first worker
            woken = await asyncio.wait_for(cup.next(), 5)
            # Only that competition's streams are woken.
            await asyncio.sleep(0.3)
            return woken, other.queue.empty()

        assert asyncio.run(marks()) == (True, True)
    finally:
        for n in news:
            n.stop()
        for db in dbs:
            db.close()
