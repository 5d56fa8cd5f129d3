"""Live alerts across gateway workers: an alert raised by one reaches a stream open on another."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from pydantic import SecretStr

from campusedge.settings import MqttSettings
from gateway.alerts.model import Candidate, Rule, Severity
from gateway.auth import Role, User
from gateway.service import Gateway, GatewaySettings
from tests.conftest import drop_pg_database, fresh_pg_database
from tests.gateway.alerts.scenario import MORNING
from tests.services import PostgresProcess


@pytest.fixture
def pg_url(postgres: PostgresProcess) -> Iterator[str]:
    name = fresh_pg_database(postgres)
    yield postgres.url(name)
    drop_pg_database(postgres, name)


def worker(tmp: Path, pg_url: str) -> Gateway:
    tmp.mkdir()
    settings = GatewaySettings(
        store_url=f"sqlite:///{tmp}/readings.db",
        state_db=pg_url,
        commit_log=tmp / "commits.db",
        api_port=0,
    )
    # Ingest is not started: the engine is driven directly, as a consumer step would.
    return Gateway(settings, MqttSettings(host="127.0.0.1", port=1, password=SecretStr("x")))


def test_an_alert_raised_by_one_worker_reaches_a_stream_open_on_another(
    tmp_path: Path, pg_url: str
) -> None:
    raiser, reader = worker(tmp_path / "a", pg_url), worker(tmp_path / "b", pg_url)
    raiser.roster.add_class("c1", "sch1", "Grade 7 class 1", "7")
    raiser.roster.add_student("c1s01", "Name c1s01", "F", date(2014, 3, 1), "c1")
    nurse = User("nurse", "Nurse", Role.HEALTH_STAFF, frozenset({"sch1"}))
    other = User("nurse-2", "Nurse", Role.HEALTH_STAFF, frozenset({"sch2"}))
    assert raiser.alerts is not None and reader.alerts is not None
    assert raiser.alerts.other_workers is not None and reader.alerts.other_workers is not None
    raiser.alerts.other_workers.start()
    reader.alerts.other_workers.start()
    try:
        assert reader.alerts.other_workers.news.listening.wait(5)
        hub = reader.alerts.hub

        async def heard() -> tuple[list[int], bool]:
            loop = asyncio.get_running_loop()
            mine, theirs = hub.subscribe(nurse, loop), hub.subscribe(other, loop)
            [fever] = raiser.alerts.engine.process(  # type: ignore[union-attr]
                [
                    Candidate(
                        rule=Rule.FEVER,
                        key="fever:sch1:student:c1s01",
                        school="sch1",
                        severity=Severity.CRITICAL,
                        at=MORNING,
                        summary="temperature 38.6 °C",
                        student_id="c1s01",
                        class_id="c1",
                        device_id="gate-1",
                    )
                ]
            )
            notification = await asyncio.wait_for(mine.queue.get(), 5)
            assert notification is not None
            await asyncio.sleep(0.3)
            assert fever.id in [a.id for a in notification.alerts]
            return [a.id for a in notification.alerts], theirs.queue.empty()

        ids, others_quiet = asyncio.run(heard())
        assert len(ids) == 1
        assert others_quiet  # a nurse of another school is not told
    finally:
        for gw in (raiser, reader):
            assert gw.alerts is not None
            gw.alerts.stop()
            gw.store.close()
