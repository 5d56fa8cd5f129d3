"""The health consumer: a screening stored just before a crash or restart makes one referral."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select

from campusedge.settings import MqttSettings
from gateway.alerts.engine import AlertEngine
from gateway.consumers.cursors import Cursors
from gateway.consumers.health import HealthConsumer
from gateway.consumers.runner import Consumers
from gateway.health.referrals import Referrals
from gateway.health.screenings import Screenings
from gateway.service import Gateway, GatewaySettings
from gateway.store.commit_log import CommitLog
from gateway.tables.health import vision_screenings
from tests.gateway.alerts.scenario import MORNING, World, build_world, heart_rate, screening


class Crash(BaseException):
    """Stands for the process dying mid-step (kill -9): nothing after it runs."""


class CrashingHealth(HealthConsumer):
    """The health consumer of a process that dies after the step's effects, before its commit."""

    def finish(self) -> None:
        raise Crash


def restarted(w: World) -> HealthConsumer:
    """A new process's health consumer on the same state database."""
    referrals = Referrals(w.db)
    return HealthConsumer(Screenings(referrals, w.roster, lambda s: w.configs.for_school(s).vision))


def screenings_stored(w: World) -> int:
    return int(w.db.query(select(func.count().label("n")).select_from(vision_screenings))[0]["n"])


def test_a_crash_mid_step_keeps_neither_referral_nor_cursor_and_the_restart_refers_once(
    tmp_path: Path, state_url: str
) -> None:
    w = build_world(state_url)
    log = CommitLog(tmp_path / "commits.db")
    # Committed just before the crash, behind a heart rate the health consumer skips.
    log.append(
        [heart_rate("band-1", 120.0, MORNING), screening("card-c1s03", MORNING, 4.7, 5.0, -1.0)]
    )
    # Screenings are the health records' alone: the alert consumer does not take them.
    [entry] = [e for e in log.since(0) if e.message and e.message.event_type]
    assert entry.message is not None and not AlertEngine.concerns(entry.message)

    dying = Consumers(log, w.db, CollectorRegistry())
    dying.add(CrashingHealth(w.screenings))
    with pytest.raises(Crash):
        dying.catch_up()
    # The screening and its referral were written inside the step; the crash undid them and
    # the cursor together.
    assert w.referrals.find() == []
    assert screenings_stored(w) == 0
    assert dying.cursors.get("health") == 0

    consumers = Consumers(log, w.db, CollectorRegistry())
    consumers.add(restarted(w))
    consumers.catch_up()
    [referral] = w.referrals.find()
    assert (referral.student_id, referral.worst_grade, referral.device_id) == (
        "c1s03",
        "moderate",
        entry.message.device_id,
    )
    assert consumers.cursors.get("health") == log.head()

    # Read again from the start of the log (a state restored with the cursor gone, or one whose
    # referrals the alert engine wrote before this consumer existed): nothing new.
    with w.db.transaction() as conn:
        Cursors.save(conn, "health", 0)
    again = Consumers(log, w.db, CollectorRegistry())
    again.add(restarted(w))
    again.catch_up()
    assert [r.id for r in w.referrals.find()] == [referral.id]
    assert screenings_stored(w) == 1
    assert again.cursors.dead_letters("health") == []


def test_a_screening_stored_just_before_a_restart_yields_one_referral_after_it(
    tmp_path: Path, state_url: str
) -> None:
    settings = GatewaySettings(
        store_url=f"sqlite:///{tmp_path}/readings.db",
        state_db=state_url,
        commit_log=tmp_path / "commits.db",
        api_port=0,
    )
    # The MQTT side is never started: the test commits as ingest does, to the same files.
    mqtt = MqttSettings(host="127.0.0.1", port=1)
    first = Gateway(settings, mqtt)
    first.roster.add_class("c1", "sch1", "Grade 7 class 1", "7")
    first.roster.add_student("c1s01", "Name c1s01", "F", date(2014, 3, 1), "c1", card_id="C-01")
    poor = screening("C-01", MORNING, 4.5, 4.9)
    # Ingest's commit: the readings store, then the commit log. The process stops before any
    # consumer has read it.
    written = first.store.write([poor])
    assert written.inserted == 1
    first.commit_log.append([poor])
    first.stop()

    for run in range(2):  # the restart, and one more: still one referral
        gw = Gateway(settings, mqtt)
        try:
            gw.consumers.catch_up()
            assert gw.referrals is not None
            [referral] = gw.referrals.find(school="sch1")
            assert (referral.student_id, referral.device_id, referral.screened_at) == (
                "c1s01",
                poor.device_id,
                MORNING,
            )
            assert referral.worst_grade == "severe" and referral.status == "open"
            [entry] = gw.commit_log.since(0)
            assert gw.consumers.cursors.get("health") == entry.position, run
            # A redelivery after the restart (same device and seq) is absorbed.
            gw.store.write([poor])
            gw.commit_log.append([poor])
            gw.consumers.catch_up()
            assert len(gw.referrals.find()) == 1
        finally:
            gw.stop()
