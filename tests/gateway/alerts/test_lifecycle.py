"""Lifecycle: transitions with who and when, dedup, silences, re-notification, escalation."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert

from campusedge.contract import DeviceState
from gateway.alerts.config import LifecycleConfig, SchoolAlertConfig
from gateway.alerts.lifecycle import Lifecycle, LifecycleError
from gateway.alerts.model import HEALTH_RULES, AlertState, Rule
from gateway.alerts.notification import NotificationKind
from gateway.tables.alerts import silences
from tests.gateway.alerts.scenario import MORNING, batch, build_world, gate_pass, status
from tests.gateway.state_helpers import reopened_from


def test_open_acknowledge_resolve_records_who_and_when(state_url: str) -> None:
    w = build_world(state_url)
    w.feed(batch(gate_pass("card-c1s01", 38.0, MORNING)))
    [alert] = w.engine.lifecycle.find()
    assert alert.state is AlertState.OPEN and alert.opened_at == MORNING
    w.clock.advance(timedelta(minutes=3))
    acked = w.engine.acknowledge(alert.id, "nurse-wang", "on my way")
    assert acked.state is AlertState.ACKNOWLEDGED
    assert (acked.acknowledged_by, acked.acknowledged_at) == ("nurse-wang", w.clock.now())
    with pytest.raises(LifecycleError, match="only an open alert"):
        w.engine.acknowledge(alert.id, "nurse-li")
    w.clock.advance(timedelta(minutes=7))
    done = w.engine.resolve(alert.id, "nurse-li", "sent_home", "parents called")
    assert done.state is AlertState.RESOLVED and done.outcome == "sent_home"
    assert (done.resolved_by, done.resolved_at) == ("nurse-li", w.clock.now())
    with pytest.raises(LifecycleError, match="already resolved"):
        w.engine.resolve(alert.id, "nurse-li")
    history = w.engine.lifecycle.history(alert.id)
    assert [(e.action, e.actor) for e in history] == [
        ("opened", "system"),
        ("notified", "system"),
        ("acknowledged", "nurse-wang"),
        ("resolved", "nurse-li"),
    ]
    assert history[2].detail == {"note": "on my way"}
    # The notification step says which notification told people, and of how many alerts.
    sent = w.out.notifications[0]
    assert history[1].detail == {"notification_id": sent.id, "alerts": 1}


def test_resolved_key_opens_fresh(state_url: str) -> None:
    w = build_world(state_url)
    w.feed(batch(gate_pass("card-c1s01", 38.0, MORNING)))
    [first] = w.engine.lifecycle.find()
    w.engine.resolve(first.id, "nurse")
    w.feed(batch(gate_pass("card-c1s01", 38.0, MORNING + timedelta(minutes=1))))
    assert len(w.engine.lifecycle.find(rule=Rule.FEVER)) == 2


def test_silence_records_but_does_not_notify(state_url: str) -> None:
    w = build_world(state_url)
    silence = w.engine.lifecycle.add_silence(
        "sch1",
        MORNING - timedelta(minutes=5),
        MORNING + timedelta(hours=1),
        "it-zhao",
        "gate firmware update",
        rule=Rule.DEVICE_OFFLINE,
        device_id="gate-1",
    )
    w.feed(
        batch(
            statuses=[
                status("gate-1", DeviceState.OFFLINE, MORNING),
                status("gate-2", DeviceState.OFFLINE, MORNING),
            ]
        )
    )
    alerts = {a.device_id: a for a in w.engine.lifecycle.find(rule=Rule.DEVICE_OFFLINE)}
    assert alerts["gate-1"].silenced and not alerts["gate-2"].silenced
    assert w.out.alert_ids() == [alerts["gate-2"].id]
    # A silenced alert is not re-notified or escalated either.
    w.clock.advance(timedelta(minutes=30))
    w.engine.tick()
    assert alerts["gate-1"].id not in w.out.alert_ids()
    assert w.engine.lifecycle.delete_silence(silence.id)
    assert w.engine.lifecycle.silences() == []


def test_a_device_maintenance_window_never_silences_a_fever(state_url: str) -> None:
    w = build_world(state_url)
    # Campus IT services the east gate: a silence on the device, any rule.
    w.engine.lifecycle.add_silence(
        "sch1",
        MORNING - timedelta(minutes=5),
        MORNING + timedelta(hours=1),
        "it-zhao",
        "maintenance",
        device_id="gate-east",
    )
    w.feed(
        batch(
            gate_pass("card-c1s01", 38.4, MORNING, device="gate-east"),
            statuses=[status("gate-east", DeviceState.OFFLINE, MORNING)],
        )
    )
    [fever] = w.engine.lifecycle.find(rule=Rule.FEVER)
    [offline] = w.engine.lifecycle.find(rule=Rule.DEVICE_OFFLINE)
    assert not fever.silenced and offline.silenced
    assert w.out.alert_ids() == [fever.id]
    # Nor is it held back from re-notification and escalation.
    w.clock.advance(timedelta(minutes=15))
    w.engine.tick()
    kinds = [n.kind for n in w.out.notifications if n.rule is Rule.FEVER]
    assert NotificationKind.ESCALATED in kinds


def test_a_silence_in_local_time_covers_its_window(state_url: str) -> None:
    w = build_world(state_url)
    # Written as the school writes it (+08:00); the engine's clock runs in UTC.
    local = timezone(timedelta(hours=8))
    start = MORNING.astimezone(local) - timedelta(minutes=5)
    w.engine.lifecycle.add_silence(
        "sch1",
        start,
        start + timedelta(hours=1),
        "it-zhao",
        "gate firmware update",
        device_id="gate-1",
    )
    [stored] = w.engine.lifecycle.silences()
    assert stored.starts_at.utcoffset() == timedelta(0) and stored.starts_at == start
    w.feed(batch(statuses=[status("gate-1", DeviceState.OFFLINE, MORNING)]))
    [offline] = w.engine.lifecycle.find(rule=Rule.DEVICE_OFFLINE)
    assert offline.silenced
    # A row written before times were kept in UTC, with its own offset, still matches.
    with w.engine.lifecycle.db.transaction() as conn:
        conn.execute(
            insert(silences).values(
                school="sch1",
                device_id="gate-2",
                starts_at=start.isoformat(),
                ends_at=(start + timedelta(hours=1)).isoformat(),
                created_by="it",
                reason="old",
            )
        )
    # It is rewritten in UTC when the gateway of a release before revision 4 is upgraded.
    restarted = Lifecycle(reopened_from(w.engine.lifecycle.db, "0003"), w.clock)
    assert [s.device_id for s in restarted.silences("sch1", active_at=MORNING)] == [
        "gate-1",
        "gate-2",
    ]
    assert restarted.silences("sch1", active_at=MORNING + timedelta(hours=1)) == []
    with pytest.raises(LifecycleError, match="need a UTC offset"):
        w.engine.lifecycle.add_silence(
            "sch1",
            start.replace(tzinfo=None),
            start.replace(tzinfo=None) + timedelta(hours=1),
            "it-zhao",
            "naive",
        )


def test_one_failing_candidate_does_not_drop_the_rest_of_its_batch(
    state_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = build_world(state_url)
    real = w.engine.lifecycle.raise_

    def flaky(c: Any, **kw: Any) -> Any:
        if c.rule is Rule.DEVICE_OFFLINE:
            raise RuntimeError("disk full")
        return real(c, **kw)

    monkeypatch.setattr(w.engine.lifecycle, "raise_", flaky)
    # Statuses are handled before readings: the offline gate fails first.
    w.feed(
        batch(
            gate_pass("card-c1s01", 38.9, MORNING),
            statuses=[status("gate-1", DeviceState.OFFLINE, MORNING)],
        )
    )
    [fever] = w.engine.lifecycle.find(rule=Rule.FEVER)
    assert w.out.alert_ids() == [fever.id]
    assert w.engine.stats["errors"] == 1


@pytest.mark.parametrize("rule", sorted(HEALTH_RULES))
def test_no_silence_names_a_health_rule(state_url: str, rule: Rule) -> None:
    w = build_world(state_url)
    with pytest.raises(LifecycleError, match=f"rule: {rule.value} alerts are never silenced"):
        w.engine.lifecycle.add_silence(
            "sch1", MORNING, MORNING + timedelta(hours=1), "nurse", "quiet please", rule=rule
        )


def test_renotify_and_escalate_with_a_controlled_clock(state_url: str) -> None:
    cfg = SchoolAlertConfig(
        lifecycle=LifecycleConfig(renotify_minutes=5, escalate_minutes=12, group_interval_s=0)
    )
    w = build_world(state_url, cfg)
    w.feed(batch(gate_pass("card-c1s01", 38.0, MORNING), gate_pass("card-c2s01", 38.0, MORNING)))
    a, b = sorted(w.engine.lifecycle.find(rule=Rule.FEVER), key=lambda x: x.id)
    w.engine.acknowledge(b.id, "nurse")  # b is taken care of: never re-notified

    def kinds_for(alert_id: int) -> list[str]:
        return [n.kind.value for n in w.out.notifications if alert_id in [x.id for x in n.alerts]]

    for minute in range(1, 16):
        w.clock.set(MORNING + timedelta(minutes=minute))
        w.engine.tick()
        if minute == 4:
            assert kinds_for(a.id) == ["opened"]
        if minute == 5:
            assert kinds_for(a.id) == ["opened", "renotified"]
    assert kinds_for(a.id) == ["opened", "renotified", "renotified", "escalated"]
    assert kinds_for(b.id) == ["opened"]
    escalated = w.engine.lifecycle.get(a.id)
    assert escalated is not None and escalated.escalation_level == 1
    assert escalated.notify_count == 4
    esc = [n for n in w.out.notifications if n.kind is NotificationKind.ESCALATED]
    assert esc[0].at == MORNING + timedelta(minutes=12)


def test_grouping_sends_one_notification_for_a_cluster(state_url: str) -> None:
    w = build_world(state_url)  # default group interval: 60 s
    for i in range(5):
        at = MORNING + timedelta(seconds=5 * i)
        w.clock.set(at)
        w.feed(batch(gate_pass(f"card-c2s{i:02d}", 37.8, at)))
    fever = [n for n in w.out.notifications if n.rule is Rule.FEVER]
    assert [len(n.alerts) for n in fever] == [1]
    assert w.engine.notifier.held(Rule.FEVER) == 4
    w.clock.set(MORNING + timedelta(seconds=59))
    w.engine.tick()
    assert w.engine.notifier.held(Rule.FEVER) == 4
    w.clock.set(MORNING + timedelta(seconds=60))
    w.engine.tick()
    fever = [n for n in w.out.notifications if n.rule is Rule.FEVER]
    assert [len(n.alerts) for n in fever] == [1, 4]


def test_alerts_held_at_a_stop_are_sent_after_restart(state_url: str) -> None:
    w = build_world(state_url)
    w.feed(batch(gate_pass("card-c1s01", 38.0, MORNING), gate_pass("card-c2s01", 38.0, MORNING)))
    w.feed(batch(gate_pass("card-c2s02", 38.0, MORNING)))  # held for the group
    assert w.engine.notifier.held(Rule.FEVER) == 1
    # The gateway stops before the group interval ends; a new engine on the same state.
    from gateway.alerts.engine import AlertEngine
    from tests.gateway.alerts.scenario import Collected

    out = Collected()
    engine = AlertEngine(w.db, w.roster, w.devices, w.configs, channels=[out], clock=w.clock)
    engine.tick()
    [sent] = [n for n in out.notifications if n.rule is Rule.FEVER]
    assert [a.student_id for a in sent.alerts] == ["c2s02"]
    engine.tick()
    assert len([n for n in out.notifications if n.rule is Rule.FEVER]) == 1
