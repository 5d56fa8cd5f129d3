"""School warning levels from daily fevers and absences for illness."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from gateway.alerts.config import LevelThresholds
from gateway.alerts.model import Rule, Severity
from gateway.alerts.rules.warning_level import Level, level_for
from tests.gateway.alerts.scenario import MORNING, batch, build_world, gate_pass


def test_level_for() -> None:
    t = LevelThresholds(yellow=2, orange=3, red=5)
    assert [level_for(n, t) for n in (0, 1, 2, 3, 4, 5, 9)] == [
        Level.GREEN, Level.GREEN, Level.YELLOW, Level.ORANGE, Level.ORANGE, Level.RED,
        Level.RED]


def test_levels_rise_with_fevers_and_absences(tmp_path: Path) -> None:
    w = build_world(tmp_path)
    day = MORNING.date()
    w.engine.on_batch(batch(gate_pass("card-c1s01", 37.9, MORNING),
                            gate_pass("card-c1s02", 38.2, MORNING)))
    levels = w.engine.levels("sch1", day)
    [c1] = levels.classes
    assert (c1.scope, c1.fevers, c1.cases, c1.level) == ("c1", 2, 2, Level.YELLOW)
    assert levels.school_level.level is Level.GREEN
    # An absence for illness of a feverish student counts once; a new one adds a case.
    for student in ("c1s01", "c1s03"):
        w.engine.warning_levels.record_absence("sch1", day, student, "c1", "illness", "cough",
                                               "nurse", MORNING)
    w.engine.warning_levels.record_absence("sch1", day, "c1s04", "c1", "personal", "",
                                           "nurse", MORNING)
    w.engine.levels_changed("sch1", day)
    [c1] = w.engine.levels("sch1", day).classes
    assert (c1.fevers, c1.illness_absences, c1.cases, c1.level) == (2, 2, 3, Level.ORANGE)
    alerts = sorted(w.engine.lifecycle.find(rule=Rule.WARNING_LEVEL), key=lambda a: a.id)
    assert [(a.detail["scope"], a.detail["level"], a.severity) for a in alerts] == [
        ("c1", "yellow", Severity.WARNING), ("c1", "orange", Severity.CRITICAL)]
    # Evaluating again raises nothing new.
    assert w.engine.levels_changed("sch1", day) == []


def test_cleared_fever_does_not_count(tmp_path: Path) -> None:
    w = build_world(tmp_path)
    w.engine.on_batch(batch(gate_pass("card-c1s01", 37.9, MORNING)))
    [alert] = w.engine.lifecycle.find(rule=Rule.FEVER)
    w.engine.recheck(alert.id, "nurse", 36.6)
    assert w.engine.levels("sch1", MORNING.date()).classes == []
    # The next day starts green.
    tomorrow = MORNING + timedelta(days=1)
    assert w.engine.levels("sch1", tomorrow.date()).school_level.cases == 0
