"""After a lesson: clean stops are not lost signals, the lesson's end resolves them, and
re-notifications and escalations of many alerts go out grouped."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

from campusedge.contract import DeviceState, Status
from campusedge.topics import DeviceKind
from gateway.alerts.config import LifecycleConfig, SchoolAlertConfig
from gateway.alerts.model import AlertState, Rule
from gateway.alerts.notification import NotificationKind
from gateway.roster import LessonKind
from tests.gateway.alerts.scenario import (
    MORNING,
    SCHOOL,
    World,
    batch,
    build_world,
    gate_pass,
    heart_rate,
)

BANDS = {f"band-{i:02d}": f"c1s{i:02d}" for i in range(20)}


def lesson_world(tmp: Path | str, config: SchoolAlertConfig | None = None) -> World:
    """Twenty bands bound in lesson pe-1 of teacher t1, each heard once before it began."""
    w = build_world(tmp, config)
    w.devices.apply([], [(SCHOOL, d, "hr_band", MORNING - timedelta(days=1), 1) for d in BANDS])
    w.roster.start_lesson("c1", "t1", LessonKind.LESSON, BANDS, at=MORNING, lesson_id="pe-1")
    return w


def run_until(w: World, seconds: int, every_s: int = 1) -> None:
    """Tick the engine each *every_s* seconds of the controllable clock up to *seconds*."""
    start = w.clock.now()
    for t in range(every_s, seconds + 1, every_s):
        w.clock.set(start + timedelta(seconds=t))
        w.engine.tick()


def sent(w: World, kind: NotificationKind, rule: Rule) -> list[int]:
    """How many alerts each notification of *kind* about *rule* carried, in order."""
    return [len(n.alerts) for n in w.out.notifications if n.kind is kind and n.rule is rule]


def all_lost(w: World) -> list[int]:
    """The lesson runs with every band silent: twenty signal-lost alerts, opened together."""
    run_until(w, 61)
    lost = w.engine.lifecycle.find(rule=Rule.HR_SIGNAL_LOST)
    assert len(lost) == len(BANDS)
    return [a.id for a in lost]


def test_a_band_stopped_cleanly_is_not_a_lost_signal(state_url: str) -> None:
    w = lesson_world(state_url)
    for t in range(10):
        at = MORNING + timedelta(seconds=t + 1)
        w.clock.set(at)
        w.feed(batch(*(heart_rate(d, 140.0, at) for d in BANDS)))
    # The edge box is stopped cleanly while the lesson goes on: every band's last status says
    # `stopped`; only band-19's link was lost for real (no clean stop).
    at = w.clock.now()
    statuses = [
        (
            SCHOOL,
            Status(
                device_id=d,
                kind=DeviceKind.HR_BAND,
                state=DeviceState.OFFLINE,
                ts=at,
                stopped=d != "band-19",
            ),
        )
        for d in BANDS
    ]
    w.devices.apply([(school, s, at) for school, s in statuses], [])  # as ingest records them
    w.feed(batch(statuses=statuses))
    run_until(w, 180, every_s=5)
    assert [a.device_id for a in w.engine.lifecycle.find(rule=Rule.HR_SIGNAL_LOST)] == ["band-19"]
    # Back online after the restart: that band is watched again, with a full minute from
    # its return to be heard (its silence while stopped does not count).
    back = [
        (
            SCHOOL,
            Status(
                device_id="band-03",
                kind=DeviceKind.HR_BAND,
                state=DeviceState.ONLINE,
                ts=w.clock.now(),
            ),
        )
    ]
    w.devices.apply([(school, s, w.clock.now()) for school, s in back], [])
    run_until(w, 55, every_s=5)
    assert len(w.engine.lifecycle.find(rule=Rule.HR_SIGNAL_LOST)) == 1
    run_until(w, 10, every_s=5)
    assert sorted(a.device_id for a in w.engine.lifecycle.find(rule=Rule.HR_SIGNAL_LOST)) == [
        "band-03",
        "band-19",
    ]


def test_ending_the_lesson_resolves_its_signal_lost_alerts_for_the_teacher(state_url: str) -> None:
    w = lesson_world(state_url)
    ids = all_lost(w)
    # A runaway heart rate of the same lesson is about the child: it stays open.
    for _ in range(70):
        at = w.clock.now() + timedelta(seconds=1)
        w.clock.set(at)
        w.feed(batch(heart_rate("band-05", 200.0, at)))
    [high] = w.engine.lifecycle.find(rule=Rule.HR_HIGH)
    w.clock.advance(timedelta(minutes=1))
    assert w.roster.end_lesson("pe-1", at=w.clock.now(), actor="t1")
    resolved = w.engine.follow_lessons()
    assert w.engine.follow_lessons() == []  # each lesson event is acted on once
    assert sorted(a.id for a in resolved) == sorted(ids)
    for alert_id in ids:
        alert = w.engine.lifecycle.get(alert_id)
        assert alert is not None and alert.state is AlertState.RESOLVED
        assert (alert.resolved_by, alert.outcome) == ("t1", "lesson_ended")
        last = w.engine.lifecycle.history(alert_id)[-1]
        assert last.actor == "t1" and last.detail["note"].startswith("lesson pe-1 ended at ")
    assert sent(w, NotificationKind.RESOLVED, Rule.HR_SIGNAL_LOST) == [20]
    still = w.engine.lifecycle.get(high.id)
    assert still is not None and still.state is AlertState.OPEN
    # Nothing about the lost bands is re-sent or escalated afterwards.
    run_until(w, 30 * 60, every_s=30)
    assert sent(w, NotificationKind.RENOTIFIED, Rule.HR_SIGNAL_LOST) == []
    assert sent(w, NotificationKind.ESCALATED, Rule.HR_SIGNAL_LOST) == []


def test_a_lesson_ended_elsewhere_resolves_at_the_next_tick(state_url: str) -> None:
    w = lesson_world(state_url)
    ids = all_lost(w)
    w.roster.end_lesson("pe-1", at=w.clock.now())  # not through the engine
    w.engine.lookup.invalidate()
    run_until(w, 1)
    resolved = [w.engine.lifecycle.get(i) for i in ids]
    assert {(a.state, a.resolved_by, a.outcome) for a in resolved if a is not None} == {
        (AlertState.RESOLVED, "system", "lesson_ended")
    }
    assert sent(w, NotificationKind.RESOLVED, Rule.HR_SIGNAL_LOST) == [20]


def test_a_lesson_ended_while_the_gateway_was_down_resolves_after_the_restart(
    state_url: str,
) -> None:
    w = lesson_world(state_url)
    ids = all_lost(w)
    w.roster.end_lesson("pe-1", at=w.clock.now())
    from gateway.alerts.engine import AlertEngine
    from tests.gateway.alerts.scenario import Collected

    out = Collected()
    engine = AlertEngine(w.db, w.roster, w.devices, w.configs, channels=[out], clock=w.clock)
    engine.tick()
    assert all(
        engine.lifecycle.get(i).state is AlertState.RESOLVED  # type: ignore[union-attr]
        for i in ids
    )


def test_reminders_and_escalations_of_many_alerts_go_out_grouped(state_url: str) -> None:
    w = lesson_world(state_url)  # renotify 10 min, escalate 15 min, group 60 s
    all_lost(w)
    assert sent(w, NotificationKind.OPENED, Rule.HR_SIGNAL_LOST) == [20]
    run_until(w, 16 * 60, every_s=5)
    # One "still open" message and one escalation for the twenty, not twenty of each.
    assert sent(w, NotificationKind.RENOTIFIED, Rule.HR_SIGNAL_LOST) == [20]
    assert sent(w, NotificationKind.ESCALATED, Rule.HR_SIGNAL_LOST) == [20]
    assert all(a.escalation_level == 1 for a in w.engine.lifecycle.find(rule=Rule.HR_SIGNAL_LOST))


def test_escalations_due_over_a_minute_are_held_and_sent_together(state_url: str) -> None:
    cfg = SchoolAlertConfig(lifecycle=LifecycleConfig(renotify_minutes=60, escalate_minutes=15))
    w = build_world(state_url, cfg)
    # Five fevers within 20 s: opened 1 + 4 (group interval 60 s), so their escalations fall
    # due at 15:00, 15:05, 15:10 … and are grouped the same way.
    for i in range(5):
        at = MORNING + timedelta(seconds=5 * i)
        w.clock.set(at)
        w.feed(batch(gate_pass(f"card-c2s{i:02d}", 38.0, at)))
    acked = w.engine.lifecycle.find(rule=Rule.FEVER)[0]  # the newest: taken care of
    w.clock.set(MORNING + timedelta(minutes=1))
    w.engine.tick()
    w.engine.acknowledge(acked.id, "nurse")
    assert sent(w, NotificationKind.OPENED, Rule.FEVER) == [1, 4]
    w.clock.set(MORNING + timedelta(minutes=14))
    run_until(w, 3 * 60)
    # The first at once, the rest (without the acknowledged one) when the interval ends.
    assert sent(w, NotificationKind.ESCALATED, Rule.FEVER) == [1, 3]
    esc = [
        n
        for n in w.out.notifications
        if n.kind is NotificationKind.ESCALATED and n.rule is Rule.FEVER
    ]
    assert esc[1].at - esc[0].at == timedelta(seconds=60)
    assert acked.id not in [a.id for n in esc for a in n.alerts]


def test_a_state_database_from_before_clean_stops_gets_the_column(tmp_path: Path) -> None:
    from gateway.devices import Devices
    from gateway.state import StateDB

    # The devices table as the first release made it, in a file without schema revisions.
    with closing(sqlite3.connect(tmp_path / "old.db")) as conn:
        conn.execute(
            "CREATE TABLE devices (device_id TEXT PRIMARY KEY, school TEXT NOT NULL, "
            "kind TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'unknown', firmware TEXT, "
            "battery_pct REAL, model_versions TEXT NOT NULL DEFAULT '{}', "
            "config_version TEXT, detail TEXT, status_at TEXT, last_seen TEXT, "
            "messages INTEGER NOT NULL DEFAULT 0);"
        )
    devices = Devices(StateDB(tmp_path / "old.db"))
    status = Status(
        device_id="band-01",
        kind=DeviceKind.HR_BAND,
        state=DeviceState.OFFLINE,
        ts=MORNING,
        stopped=True,
    )
    devices.apply([(SCHOOL, status, MORNING)], [])
    assert devices.stopped_cleanly(["band-01", "band-02"]) == {"band-01"}
