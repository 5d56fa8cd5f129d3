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


class Undone(Exception):
    pass


def test_a_notice_told_inside_a_transaction_goes_out_with_its_commit_and_not_without(
    pg_url: str,
) -> None:
    # As the competition consumer tells it, inside its step: no transaction of its own.
    dbs = [StateDB(pg_url), StateDB(pg_url)]
    workers = [Competitions(db) for db in dbs]
    news = [BoardNews(db, c.changed_elsewhere) for db, c in zip(dbs, workers, strict=True)]
    workers[0].on_changed.append(news[0].tell)
    news[1].start()
    try:
        assert news[1].listening.wait(5)

        async def marks() -> tuple[bool, bool, bool]:
            cup = workers[1].hub.subscribe("cup", asyncio.get_running_loop())
            with pytest.raises(Undone), dbs[0].transaction():
                workers[0].tell_others("cup")
                raise Undone  # the step rolled back: its notice is not sent
            await asyncio.sleep(0.3)
            after_rollback = cup.queue.empty()
            with dbs[0].transaction():
                workers[0].tell_others("cup")
                await asyncio.sleep(0.3)
                before_commit = cup.queue.empty()
            woken = await asyncio.wait_for(cup.next(), 5)
            return after_rollback, before_commit, woken

        assert asyncio.run(marks()) == (True, True, True)
    finally:
        for n in news:
            n.stop()
        for db in dbs:
            db.close()
