"""After a lesson: clean stops are not lost signals, the lesson's end resolves them, and
re-notifications and escalations of many alerts go out grouped."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from campusedge.contract import DeviceState, Status
from campusedge.topics import DeviceKind
from gateway.alerts.config import LifecycleConfig, SchoolAlertConfig
from gateway.alerts.model import Rule
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


def lesson_world(tmp: Path, config: SchoolAlertConfig | None = None) -> World:
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


def test_a_band_stopped_cleanly_is_not_a_lost_signal(tmp_path: Path) -> None:
    w = lesson_world(tmp_path)
    for t in range(10):
        at = MORNING + timedelta(seconds=t + 1)
        w.clock.set(at)
        w.engine.on_batch(batch(*(heart_rate(d, 140.0, at) for d in BANDS)))
    # The edge box is stopped cleanly while the lesson goes on: every band's last status says
    # `stopped`; only band-19's link was lost for real (no clean stop).
    at = w.clock.now()
    statuses = [(SCHOOL, Status(device_id=d, kind=DeviceKind.HR_BAND, state=DeviceState.OFFLINE,
                                ts=at, stopped=d != "band-19")) for d in BANDS]
    w.devices.apply([(school, s, at) for school, s in statuses], [])  # as ingest records them
    w.engine.on_batch(batch(statuses=statuses))
    run_until(w, 180, every_s=5)
    assert [a.device_id for a in w.engine.lifecycle.find(rule=Rule.HR_SIGNAL_LOST)] == [
        "band-19"]
    # Back online after the restart: that band is watched again.
    back = [(SCHOOL, Status(device_id="band-03", kind=DeviceKind.HR_BAND,
                            state=DeviceState.ONLINE, ts=w.clock.now()))]
    w.devices.apply([(school, s, w.clock.now()) for school, s in back], [])
    run_until(w, 120, every_s=5)
    assert sorted(a.device_id for a in w.engine.lifecycle.find(rule=Rule.HR_SIGNAL_LOST)) == [
        "band-03", "band-19"]


def test_reminders_and_escalations_of_many_alerts_go_out_grouped(tmp_path: Path) -> None:
    w = lesson_world(tmp_path)  # renotify 10 min, escalate 15 min, group 60 s
    all_lost(w)
    assert sent(w, NotificationKind.OPENED, Rule.HR_SIGNAL_LOST) == [20]
    run_until(w, 16 * 60, every_s=5)
    # One "still open" message and one escalation for the twenty, not twenty of each.
    assert sent(w, NotificationKind.RENOTIFIED, Rule.HR_SIGNAL_LOST) == [20]
    assert sent(w, NotificationKind.ESCALATED, Rule.HR_SIGNAL_LOST) == [20]
    assert all(a.escalation_level == 1
               for a in w.engine.lifecycle.find(rule=Rule.HR_SIGNAL_LOST))


def test_escalations_due_over_a_minute_are_held_and_sent_together(tmp_path: Path) -> None:
    cfg = SchoolAlertConfig(lifecycle=LifecycleConfig(renotify_minutes=60,
                                                      escalate_minutes=15))
    w = build_world(tmp_path, cfg)
    # Five fevers within 20 s: opened 1 + 4 (group interval 60 s), so their escalations fall
    # due at 15:00, 15:05, 15:10 … and are grouped the same way.
    for i in range(5):
        at = MORNING + timedelta(seconds=5 * i)
        w.clock.set(at)
        w.engine.on_batch(batch(gate_pass(f"card-c2s{i:02d}", 38.0, at)))
    acked = w.engine.lifecycle.find(rule=Rule.FEVER)[0]  # the newest: taken care of
    w.clock.set(MORNING + timedelta(minutes=1))
    w.engine.tick()
    w.engine.acknowledge(acked.id, "nurse")
    assert sent(w, NotificationKind.OPENED, Rule.FEVER) == [1, 4]
    w.clock.set(MORNING + timedelta(minutes=14))
    run_until(w, 3 * 60)
    # The first at once, the rest (without the acknowledged one) when the interval ends.
    assert sent(w, NotificationKind.ESCALATED, Rule.FEVER) == [1, 3]
    esc = [n for n in w.out.notifications
           if n.kind is NotificationKind.ESCALATED and n.rule is Rule.FEVER]
    assert esc[1].at - esc[0].at == timedelta(seconds=60)
    assert acked.id not in [a.id for n in esc for a in n.alerts]


def test_a_state_database_from_before_clean_stops_gets_the_column(tmp_path: Path) -> None:
    from gateway.devices import Devices
    from gateway.state import StateDB

    db = StateDB(tmp_path / "old.db")
    db.ensure("CREATE TABLE devices (device_id TEXT PRIMARY KEY, school TEXT NOT NULL, "
              "kind TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'unknown', firmware TEXT, "
              "battery_pct REAL, model_versions TEXT NOT NULL DEFAULT '{}', "
              "config_version TEXT, detail TEXT, status_at TEXT, last_seen TEXT, "
              "messages INTEGER NOT NULL DEFAULT 0);")
    devices = Devices(db)
    status = Status(device_id="band-01", kind=DeviceKind.HR_BAND, state=DeviceState.OFFLINE,
                    ts=MORNING, stopped=True)
    devices.apply([(SCHOOL, status, MORNING)], [])
    assert devices.stopped_cleanly(["band-01", "band-02"]) == {"band-01"}
