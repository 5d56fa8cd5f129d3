"""Device rules: last will, silence in school hours, battery, clock drift, all-clear."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from campusedge.contract import DeviceState, Status
from campusedge.topics import DeviceKind
from gateway.alerts.model import AlertState, Rule
from gateway.alerts.notification import NotificationKind
from tests.gateway.alerts.scenario import (
    MORNING,
    batch,
    build_world,
    device_reading,
    gate_pass,
    status,
)


def test_an_offline_status_opens_and_birth_resolves(state_url: str) -> None:
    w = build_world(state_url)
    w.feed(batch(statuses=[status("gate-1", DeviceState.OFFLINE, MORNING)]))
    w.feed(batch(statuses=[status("gate-1", DeviceState.OFFLINE, MORNING)]))
    [alert] = w.engine.lifecycle.find(rule=Rule.DEVICE_OFFLINE)
    # A device's offline status comes from its box, which lost the link to it.
    assert alert.detail["reason"] == "device_fault" and alert.count == 2
    w.feed(batch(statuses=[status("gate-1", DeviceState.ONLINE, MORNING)]))
    resolved = w.engine.lifecycle.get(alert.id)
    assert resolved is not None and resolved.state is AlertState.RESOLVED
    assert resolved.resolved_by == "system" and resolved.outcome == "back_online"
    assert [n.kind for n in w.out.notifications] == [
        NotificationKind.OPENED,
        NotificationKind.RESOLVED,
    ]


def test_battery_low_and_clock_drift(state_url: str) -> None:
    w = build_world(state_url)
    w.feed(
        batch(
            statuses=[status("band-1", DeviceState.ONLINE, MORNING, DeviceKind.HR_BAND, battery=12)]
        )
    )
    w.feed(
        batch(
            device_reading("gate-2", DeviceKind.TEMP_GATE, MORNING, clock_offset=-7.5, battery=80)
        )
    )
    [battery] = w.engine.lifecycle.find(rule=Rule.BATTERY_LOW)
    assert battery.device_id == "band-1" and battery.detail["battery_pct"] == 12
    [drift] = w.engine.lifecycle.find(rule=Rule.CLOCK_DRIFT)
    assert drift.device_id == "gate-2" and drift.detail["clock_offset_s"] == -7.5
    w.feed(batch(device_reading("gate-2", DeviceKind.TEMP_GATE, MORNING, clock_offset=0.3)))
    assert w.engine.lifecycle.get(drift.id).state is AlertState.RESOLVED  # type: ignore[union-attr]


def test_silence_counts_only_in_school_hours(state_url: str, new_state: Callable[[], str]) -> None:
    w = build_world(state_url)
    seen = MORNING - timedelta(minutes=20)  # 07:40 local
    w.devices.apply(
        [],
        [
            ("sch1", "gate-1", "temp_gate", seen, 1),
            ("sch1", "screener-1", "vision_screener", seen, 1),
        ],
    )
    w.engine.tick()
    [alert] = w.engine.lifecycle.find(rule=Rule.DEVICE_OFFLINE)
    assert alert.device_id == "gate-1" and alert.detail["reason"] == "silence"
    # Saturday 2026-09-05, 10:00 local: not a school day.
    w2 = build_world(new_state())
    saturday = datetime(2026, 9, 5, 2, 0, tzinfo=UTC)
    w2.clock.set(saturday)
    w2.devices.apply([], [("sch1", "gate-1", "temp_gate", saturday - timedelta(hours=3), 1)])
    w2.engine.tick()
    assert not w2.engine.lifecycle.find(rule=Rule.DEVICE_OFFLINE)


def test_gate_readings_do_not_trip_device_rules(state_url: str) -> None:
    w = build_world(state_url)
    w.feed(batch(gate_pass("card-c1s01", 36.5, MORNING)))
    assert w.engine.lifecycle.find() == []


def test_a_boxs_last_will_alerts_and_a_clean_stop_does_not(state_url: str) -> None:
    w = build_world(state_url)
    lost = Status(device_id="box-1", kind=DeviceKind.EDGE, state=DeviceState.OFFLINE, ts=MORNING)
    stopped = [
        Status(
            device_id=d,
            kind=k,
            state=DeviceState.OFFLINE,
            ts=MORNING,
            stopped=True,
            detail="box stopped",
        )
        for d, k in (("box-2", DeviceKind.EDGE), ("gate-2", DeviceKind.TEMP_GATE))
    ]
    w.feed(batch(statuses=[("sch1", lost), *(("sch1", s) for s in stopped)]))
    [alert] = w.engine.lifecycle.find(rule=Rule.DEVICE_OFFLINE)
    assert alert.device_id == "box-1" and alert.detail["reason"] == "last_will"
    assert alert.summary == "edge box-1 went offline: connection lost (last will)"


def test_silence_beyond_n_minutes_of_each_kind_and_the_all_clear(state_url: str) -> None:
    w = build_world(state_url)  # temp_gate 15 min, edge 5 min; 08:00 local on a Tuesday
    w.devices.apply(
        [], [("sch1", "gate-1", "temp_gate", MORNING, 1), ("sch1", "box-1", "edge", MORNING, 1)]
    )

    def silent_after(minutes: float) -> set[str]:
        w.clock.set(MORNING + timedelta(minutes=minutes))
        w.engine.tick()
        return {a.device_id or "" for a in w.engine.lifecycle.find(rule=Rule.DEVICE_OFFLINE)}

    assert silent_after(5) == set()  # exactly N minutes is not beyond N
    assert silent_after(5.6) == {"box-1"}
    assert silent_after(15) == {"box-1"}
    assert silent_after(15.6) == {"box-1", "gate-1"}
    [gate] = [
        a for a in w.engine.lifecycle.find(rule=Rule.DEVICE_OFFLINE) if a.device_id == "gate-1"
    ]
    assert gate.detail == {"reason": "silence", "kind": "temp_gate", "silent_minutes": 15.6}
    # Heard again (its box says it is online): resolved by the system.
    w.feed(batch(statuses=[status("gate-1", DeviceState.ONLINE, w.clock.now())]))
    done = w.engine.lifecycle.get(gate.id)
    assert done is not None and done.state is AlertState.RESOLVED
    assert done.outcome == "back_online"


def test_silence_after_school_hours_is_not_an_outage(state_url: str) -> None:
    w = build_world(state_url)
    evening = datetime(2026, 9, 1, 10, 30, tzinfo=UTC)  # 18:30 in Asia/Shanghai
    w.devices.apply([], [("sch1", "gate-1", "temp_gate", evening - timedelta(hours=1), 1)])
    w.clock.set(evening)
    w.engine.tick()
    assert w.engine.lifecycle.find(rule=Rule.DEVICE_OFFLINE) == []
    w.clock.set(datetime(2026, 9, 1, 23, 0, 30, tzinfo=UTC))  # 07:00:30 the next morning
    w.engine.tick()
    [alert] = w.engine.lifecycle.find(rule=Rule.DEVICE_OFFLINE)
    assert alert.device_id == "gate-1"


def test_clock_drift_from_the_offset_a_box_reports_in_a_status(state_url: str) -> None:
    w = build_world(state_url)
    skewed = Status(
        device_id="gate-3",
        kind=DeviceKind.TEMP_GATE,
        state=DeviceState.ONLINE,
        ts=MORNING,
        clock_offset_s=-600.2,
    )
    w.feed(batch(statuses=[("sch1", skewed)]))
    [drift] = w.engine.lifecycle.find(rule=Rule.CLOCK_DRIFT)
    assert drift.device_id == "gate-3" and drift.detail == {"clock_offset_s": -600.2}
    assert drift.summary == "clock of gate-3 is off by -600.2 s"
    fixed = skewed.model_copy(update={"clock_offset_s": 0.4})
    w.feed(batch(statuses=[("sch1", fixed)]))
    done = w.engine.lifecycle.get(drift.id)
    assert done is not None and done.state is AlertState.RESOLVED and done.outcome == "clock_ok"


def test_battery_low_from_a_devices_battery_reading(state_url: str) -> None:
    w = build_world(state_url)  # below 20 % by default
    w.feed(batch(device_reading("rope-07", DeviceKind.JUMP_ROPE, MORNING, battery=20.0)))
    assert w.engine.lifecycle.find(rule=Rule.BATTERY_LOW) == []
    w.feed(batch(device_reading("rope-07", DeviceKind.JUMP_ROPE, MORNING, battery=8.0)))
    [low] = w.engine.lifecycle.find(rule=Rule.BATTERY_LOW)
    assert low.device_id == "rope-07" and low.summary == "battery of rope-07 at 8 % (below 20 %)"
    w.feed(batch(device_reading("rope-07", DeviceKind.JUMP_ROPE, MORNING, battery=95.0)))
    done = w.engine.lifecycle.get(low.id)
    assert done is not None and done.state is AlertState.RESOLVED and done.outcome == "battery_ok"


def test_a_battery_reported_twice_a_second_folds_once_a_minute(state_url: str) -> None:
    w = build_world(state_url)
    for i in range(240):  # two minutes of a rope's realtime reports, battery falling
        at = MORNING + timedelta(seconds=i / 2)
        w.feed(batch(device_reading("rope-07", DeviceKind.JUMP_ROPE, at, battery=12.0 - i / 60)))
    [low] = w.engine.lifecycle.find(rule=Rule.BATTERY_LOW)
    # Opened at 0 s, folded again at 60 s: not 240 writes for one low battery.
    assert low.count == 2 and low.last_seen_at == MORNING + timedelta(seconds=60)
    assert low.detail["battery_pct"] == 10.0
    # Its history: opened, notified, one fold.
    assert [e.action for e in w.engine.lifecycle.history(low.id)] == [
        "opened",
        "notified",
        "folded",
    ]
    # The all-clear is never held back.
    w.feed(
        batch(
            device_reading(
                "rope-07", DeviceKind.JUMP_ROPE, MORNING + timedelta(seconds=121), battery=99.0
            )
        )
    )
    assert w.engine.lifecycle.get(low.id).state is AlertState.RESOLVED  # type: ignore[union-attr]
