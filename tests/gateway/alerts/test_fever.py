"""Fever rule on a simulated gate morning: thresholds per site, folding, recheck, replay."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from gateway.alerts.config import FeverConfig, SchoolAlertConfig
from gateway.alerts.model import AlertState, Rule
from tests.gateway.alerts.scenario import MORNING, batch, build_world, gate_pass


def gate_morning(students: list[str]) -> tuple[list, dict[str, float]]:
    """300 students pass in 40 minutes; four readings >= 37.3 °C, one of them a repeat."""
    rng = random.Random(7)
    fevers = {"c1s03": 37.8, "c2s10": 38.4, "c1s20": 37.3}
    messages = []
    for i in range(300):
        student = students[i]
        at = MORNING + timedelta(seconds=8 * i)
        temp = fevers.get(student)
        if temp is None:
            temp = round(rng.uniform(35.9, 37.2), 1)
        messages.append(
            gate_pass(f"card-{student}", temp, at, site=rng.choice(["forehead", "wrist"]))
        )
    # c1s03 comes back through the gate ten minutes later, still warm: same alert.
    messages.append(gate_pass("card-c1s03", 37.9, MORNING + timedelta(minutes=10)))
    return messages, fevers


def test_gate_morning_opens_one_alert_per_feverish_student(state_url: str) -> None:
    w = build_world(state_url, students_per_class=150)
    messages, fevers = gate_morning(w.students)
    for i in range(0, len(messages), 25):
        w.feed(batch(*messages[i : i + 25]))
    alerts = w.engine.lifecycle.find(rule=Rule.FEVER)
    assert sorted(a.student_id for a in alerts) == sorted(fevers)
    by_student = {a.student_id: a for a in alerts}
    repeat = by_student["c1s03"]
    assert repeat.count == 2
    assert repeat.detail["max_value"] == 37.9
    assert by_student["c2s10"].detail["temperature_c"] == 38.4
    assert by_student["c1s20"].class_id == "c1"
    assert all(a.state is AlertState.OPEN for a in alerts)
    # The first fever went out at once; the others of the same minute are held as a group
    # and sent together when the group interval ends. The fold notified nobody again.
    fever_notes = [n for n in w.out.notifications if n.rule is Rule.FEVER]
    assert [len(n.alerts) for n in fever_notes] == [2]
    w.clock.advance(timedelta(seconds=60))
    w.engine.tick()
    fever_notes = [n for n in w.out.notifications if n.rule is Rule.FEVER]
    assert [len(n.alerts) for n in fever_notes] == [2, 1]
    assert sorted(a.id for n in fever_notes for a in n.alerts) == sorted(a.id for a in alerts)
    # Two feverish students in class c1, not rechecked yet: no case by the packaged default,
    # two screens awaiting a recheck.
    assert not w.engine.lifecycle.find(rule=Rule.WARNING_LEVEL)
    [c1] = [c for c in w.engine.levels("sch1", MORNING.date()).classes if c.scope == "c1"]
    assert (c1.cases, c1.unconfirmed_screens) == (0, 2)


def test_redelivered_batch_changes_nothing(state_url: str) -> None:
    w = build_world(state_url)
    b = batch(
        gate_pass("card-c1s01", 38.0, MORNING, seq=9001),
        gate_pass("card-c1s01", 38.1, MORNING + timedelta(minutes=1), seq=9002),
    )
    w.feed(b)
    w.feed(b)  # the broker redelivered after a gateway crash
    [alert] = w.engine.lifecycle.find(rule=Rule.FEVER)
    assert alert.count == 2
    assert len(w.out.notifications) == 1
    assert w.engine.stats["duplicates"] == 2


def test_repeat_after_fold_window_opens_a_new_alert(state_url: str) -> None:
    w = build_world(state_url)
    w.feed(batch(gate_pass("card-c1s01", 38.0, MORNING)))
    w.feed(batch(gate_pass("card-c1s01", 38.0, MORNING + timedelta(minutes=31))))
    old, new = sorted(w.engine.lifecycle.find(rule=Rule.FEVER), key=lambda a: a.id)
    assert old.state is AlertState.RESOLVED and old.outcome == "expired"
    assert new.state is AlertState.OPEN and new.count == 1


@pytest.mark.parametrize(
    ("site", "temperature", "fever"),
    [
        ("forehead", 37.2, False),
        ("forehead", 37.3, True),
        ("wrist", 37.4, False),
        ("wrist", 37.5, True),
    ],
)
def test_per_site_thresholds(state_url: str, site: str, temperature: float, fever: bool) -> None:
    cfg = SchoolAlertConfig(fever=FeverConfig(threshold_c={"forehead": 37.3, "wrist": 37.5}))
    w = build_world(state_url, cfg)
    w.feed(batch(gate_pass("card-c1s01", temperature, MORNING, site=site)))
    assert bool(w.engine.lifecycle.find(rule=Rule.FEVER)) is fever


def test_unknown_card_is_alerted_by_card(state_url: str) -> None:
    w = build_world(state_url)
    w.feed(batch(gate_pass("card-visitor", 38.2, MORNING)))
    [alert] = w.engine.lifecycle.find(rule=Rule.FEVER)
    assert alert.student_id is None and alert.key == "fever:sch1:subject:card-visitor"


def test_older_card_id_attribute_is_understood(state_url: str) -> None:
    from dataclasses import replace

    w = build_world(state_url)
    msg = replace(
        gate_pass("card-c1s04", 38.0, MORNING),
        attributes=(("card_id", "card-c1s04"), ("site", "wrist")),
    )
    w.feed(batch(msg))
    [alert] = w.engine.lifecycle.find(rule=Rule.FEVER)
    assert alert.student_id == "c1s04" and alert.detail["site"] == "wrist"


def test_recheck_confirms_or_clears(state_url: str) -> None:
    w = build_world(state_url)
    w.feed(batch(gate_pass("card-c1s01", 37.6, MORNING), gate_pass("card-c1s02", 37.5, MORNING)))
    a1, a2 = sorted(w.engine.lifecycle.find(rule=Rule.FEVER), key=lambda a: a.student_id or "")
    w.clock.advance(timedelta(minutes=20))
    confirmed = w.engine.recheck(a1.id, "nurse", 37.8)
    assert confirmed.state is AlertState.ACKNOWLEDGED
    assert confirmed.detail["confirmed"] is True and confirmed.acknowledged_by == "nurse"
    cleared = w.engine.recheck(a2.id, "nurse", 36.7)
    assert cleared.state is AlertState.RESOLVED and cleared.outcome == "cleared"
    assert cleared.resolved_by == "nurse" and cleared.resolved_at == w.clock.now()
    actions = [e.action for e in w.engine.lifecycle.history(a2.id)]
    assert actions == ["opened", "notified", "recheck", "resolved"]


def test_a_folded_fever_summarises_its_highest_reading(state_url: str) -> None:
    w = build_world(state_url)
    w.feed(batch(gate_pass("card-c1s01", 38.5, MORNING)))
    w.feed(batch(gate_pass("card-c1s01", 39.1, MORNING + timedelta(minutes=5))))
    [alert] = w.engine.lifecycle.find(rule=Rule.FEVER)
    assert alert.count == 2 and alert.detail["max_value"] == 39.1
    assert "39.1 °C" in alert.summary and "38.5" not in alert.summary
    # A lower pass afterwards folds in but does not lower what the alert says.
    w.feed(batch(gate_pass("card-c1s01", 37.6, MORNING + timedelta(minutes=8))))
    [alert] = w.engine.lifecycle.find(rule=Rule.FEVER)
    assert alert.count == 3 and "39.1 °C" in alert.summary
    assert alert.detail["max_value"] == 39.1
