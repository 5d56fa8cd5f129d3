"""School warning levels from daily fevers and absences for illness."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from gateway.alerts.config import LevelThresholds
from gateway.alerts.model import AlertState, Rule, Severity
from gateway.alerts.rules.warning_level import Level, level_for
from tests.gateway.alerts.scenario import MORNING, World, batch, build_world, gate_pass


def test_level_for() -> None:
    t = LevelThresholds(yellow=2, orange=3, red=5)
    assert [level_for(n, t) for n in (0, 1, 2, 3, 4, 5, 9)] == [
        Level.GREEN,
        Level.GREEN,
        Level.YELLOW,
        Level.ORANGE,
        Level.ORANGE,
        Level.RED,
        Level.RED,
    ]


def counting_screens(w: World) -> World:
    """The district's choice that a fever screen counts as a case before its recheck."""
    w.configs.warning_levels = w.configs.warning_levels.model_copy(
        update={"count_unconfirmed_screens": True}
    )
    return w


def test_unconfirmed_screens_are_shown_and_count_only_once_confirmed(state_url: str) -> None:
    # The packaged default: a gate's screen is no case until a recheck confirms it.
    w = build_world(state_url)
    day = MORNING.date()
    w.feed(batch(gate_pass("card-c1s01", 37.9, MORNING), gate_pass("card-c1s02", 38.2, MORNING)))
    [c1] = w.engine.levels("sch1", day).classes
    assert (c1.cases, c1.unconfirmed_screens, c1.level) == (0, 2, Level.GREEN)
    assert not w.engine.lifecycle.find(rule=Rule.WARNING_LEVEL)
    fevers = {a.student_id: a for a in w.engine.lifecycle.find(rule=Rule.FEVER)}
    for student in ("c1s01", "c1s02"):
        w.engine.recheck(fevers[student].id, "nurse", 38.0)  # confirmed
    w.engine.levels_changed("sch1", day)
    [c1] = w.engine.levels("sch1", day).classes
    assert (c1.cases, c1.fevers, c1.unconfirmed_screens, c1.level) == (2, 2, 0, Level.YELLOW)
    [alert] = w.engine.lifecycle.find(rule=Rule.WARNING_LEVEL)
    assert alert.detail["level"] == "yellow"


def test_levels_rise_with_fevers_and_absences(state_url: str) -> None:
    w = counting_screens(build_world(state_url))
    day = MORNING.date()
    w.feed(batch(gate_pass("card-c1s01", 37.9, MORNING), gate_pass("card-c1s02", 38.2, MORNING)))
    levels = w.engine.levels("sch1", day)
    [c1] = levels.classes
    assert (c1.scope, c1.fevers, c1.cases, c1.level) == ("c1", 2, 2, Level.YELLOW)
    assert levels.school_level.level is Level.GREEN
    # An absence for illness of a feverish student counts once; a new one adds a case.
    for student in ("c1s01", "c1s03"):
        w.absences.record("sch1", day, student, "c1", "illness", "cough", "nurse", MORNING)
    w.absences.record("sch1", day, "c1s04", "c1", "other", "", "nurse", MORNING)
    w.engine.levels_changed("sch1", day)
    [c1] = w.engine.levels("sch1", day).classes
    assert (c1.fevers, c1.illness_absences, c1.cases, c1.level) == (2, 2, 3, Level.ORANGE)
    # One alert for the class, which followed its level up, with the step in its history.
    [alert] = w.engine.lifecycle.find(rule=Rule.WARNING_LEVEL)
    assert (alert.detail["scope"], alert.detail["level"], alert.severity) == (
        "c1",
        "orange",
        Severity.CRITICAL,
    )
    steps = [e.action for e in w.engine.lifecycle.history(alert.id) if e.action != "notified"]
    assert steps == ["opened", "changed"]
    # Evaluating again raises nothing new.
    assert w.engine.levels_changed("sch1", day) == []


def test_a_level_that_falls_moves_its_alert_down_and_back_to_green_resolves_it(
    state_url: str,
) -> None:
    w = counting_screens(build_world(state_url))
    day = MORNING.date()
    w.feed(batch(*(gate_pass(f"card-c1s0{n}", 38.0, MORNING) for n in (1, 2, 3))))
    [alert] = w.engine.lifecycle.find(rule=Rule.WARNING_LEVEL)
    assert (alert.detail["level"], alert.severity) == ("orange", Severity.CRITICAL)
    fevers = {a.student_id: a for a in w.engine.lifecycle.find(rule=Rule.FEVER)}
    w.engine.recheck(fevers["c1s03"].id, "nurse", 36.6)  # cleared: 2 cases, yellow
    w.engine.levels_changed("sch1", day)
    alert = w.engine.lifecycle.get(alert.id)  # type: ignore[assignment]
    assert (alert.detail["level"], alert.severity, alert.state) == (
        "yellow",
        Severity.WARNING,
        AlertState.OPEN,
    )
    for student in ("c1s01", "c1s02"):
        w.engine.recheck(fevers[student].id, "nurse", 36.7)
    w.engine.levels_changed("sch1", day)
    alert = w.engine.lifecycle.get(alert.id)  # type: ignore[assignment]
    assert alert.state is AlertState.RESOLVED and alert.outcome == "level_fell"
    assert [e.action for e in w.engine.lifecycle.history(alert.id) if e.action != "notified"] == [
        "opened",
        "changed",
        "resolved",
    ]
    assert len(w.engine.lifecycle.find(rule=Rule.WARNING_LEVEL)) == 1  # still one alert


def test_a_new_day_brings_the_level_down_without_any_new_case(state_url: str) -> None:
    w = counting_screens(build_world(state_url))
    w.feed(batch(gate_pass("card-c1s01", 37.9, MORNING), gate_pass("card-c1s02", 38.2, MORNING)))
    [alert] = w.engine.lifecycle.find(rule=Rule.WARNING_LEVEL)
    assert alert.detail["level"] == "yellow"
    w.clock.set(MORNING + timedelta(days=1))
    w.engine.tick()  # the periodic look at open levels
    alert = w.engine.lifecycle.get(alert.id)  # type: ignore[assignment]
    assert alert.state is AlertState.RESOLVED and alert.outcome == "level_fell"


def test_cleared_fever_does_not_count(state_url: str) -> None:
    w = build_world(state_url)
    w.feed(batch(gate_pass("card-c1s01", 37.9, MORNING)))
    [alert] = w.engine.lifecycle.find(rule=Rule.FEVER)
    w.engine.recheck(alert.id, "nurse", 36.6)
    assert w.engine.levels("sch1", MORNING.date()).classes == []
    # The next day starts green.
    tomorrow = MORNING + timedelta(days=1)
    assert w.engine.levels("sch1", tomorrow.date()).school_level.cases == 0


def test_school_level_and_the_district_file_set_the_thresholds(
    tmp_path: Path, state_url: str
) -> None:
    from gateway.alerts.config import AlertConfigs

    alerts_dir = tmp_path / "alerts"
    alerts_dir.mkdir()
    (alerts_dir / "warning_levels.yaml").write_text(
        "owner: District CDC\nversion: '2026-10'\nper_class: {yellow: 3, orange: 4, red: 6}\n"
        "per_school: {yellow: 4, orange: 6, red: 8}\ncount_unconfirmed_screens: true\n"
    )
    w = build_world(state_url)
    w.engine.configs = w.engine.notifier.configs = AlertConfigs(alerts_dir)
    # Two fevers in c1, two in c2: by the district's file no class reaches yellow (3), the
    # school does (4). With the packaged placeholders both classes would be yellow.
    w.feed(
        batch(
            *(gate_pass(f"card-{s}", 38.0, MORNING) for s in ("c1s01", "c1s02", "c2s01", "c2s02"))
        )
    )
    levels = w.engine.levels("sch1", MORNING.date())
    assert [(c.scope, c.cases, c.level) for c in levels.classes] == [
        ("c1", 2, Level.GREEN),
        ("c2", 2, Level.GREEN),
    ]
    assert (levels.school_level.cases, levels.school_level.level) == (4, Level.YELLOW)
    [alert] = w.engine.lifecycle.find(rule=Rule.WARNING_LEVEL)
    assert alert.class_id is None and alert.detail["scope"] == "school"
    assert alert.detail["level"] == "yellow" and alert.severity is Severity.WARNING
    # Two absences for illness in c1 take the class to orange (4) and the school to orange (6).
    for student in ("c1s03", "c1s04"):
        w.absences.record("sch1", MORNING.date(), student, "c1", "illness", "", "nurse", MORNING)
    raised = w.engine.levels_changed("sch1", MORNING.date())
    assert {(a.detail["scope"], a.detail["level"]) for a in raised} == {
        ("school", "orange"),
        ("c1", "orange"),
    }
    assert all(a.severity is Severity.CRITICAL for a in raised)


def test_five_cases_over_three_days_in_a_class_reach_orange(state_url: str) -> None:
    # The packaged district file: a class reaches orange with 3 cases in a day, or with 5
    # distinct students over 3 consecutive days (the 2006 reporting specification).
    w = counting_screens(build_world(state_url))
    day1, day2, day3 = (MORNING + timedelta(days=n) for n in range(3))
    w.feed(batch(gate_pass("card-c1s01", 37.9, day1), gate_pass("card-c1s02", 38.0, day1)))
    w.feed(
        batch(gate_pass("card-c1s03", 38.1, day2), gate_pass("card-c1s01", 38.0, day2))
    )  # the same child again
    levels = w.engine.levels("sch1", day2.date())
    [c1] = levels.classes
    assert (c1.cases, c1.window_cases, c1.window_days, c1.level) == (2, 3, 3, Level.YELLOW)
    # Day 3: one new case; the day alone is green, the three days hold 5 distinct students.
    w.feed(batch(gate_pass("card-c1s04", 38.0, day3)))
    w.absences.record("sch1", day3.date(), "c1s05", "c1", "illness", "fever", "nurse", day3)
    raised = w.engine.levels_changed("sch1", day3.date())
    [c1] = w.engine.levels("sch1", day3.date()).classes
    assert (c1.cases, c1.window_cases, c1.level) == (2, 5, Level.ORANGE)
    assert [(a.detail["scope"], a.detail["level"], a.detail["window_cases"]) for a in raised] == [
        ("c1", "orange", 5)
    ]
    assert "5 over the last 3 days" in raised[0].summary
    # A day later the first day has left the window (c1s02 was ill only then; c1s01 also
    # on day 2): 4 students, no case that day.
    day4 = (MORNING + timedelta(days=3)).date()
    [c1] = w.engine.levels("sch1", day4).classes
    assert (c1.cases, c1.window_cases, c1.level) == (0, 4, Level.GREEN)


def test_a_window_needs_its_case_count() -> None:
    from gateway.alerts.config import CaseWindow

    t = LevelThresholds(
        yellow=2, orange=3, red=5, window=CaseWindow(days=3, cases=5, level="orange")
    )
    assert level_for(1, t, 4) is Level.GREEN
    assert level_for(1, t, 5) is Level.ORANGE
    assert level_for(5, t, 5) is Level.RED  # a window never lowers the day's level
    assert level_for(1, t) is Level.GREEN  # no window count given


def test_the_rule_behind_a_level_is_named() -> None:
    """What staff are shown beside a level: which threshold set it."""
    from gateway.alerts.config import CaseWindow
    from gateway.api.routes.warning_levels import rule_of

    t = LevelThresholds(
        yellow=2, orange=3, red=5, window=CaseWindow(days=3, cases=5, level="orange")
    )
    assert rule_of(Level.GREEN, 1, t) == (None, None)
    assert rule_of(Level.YELLOW, 2, t) == ("day", 2)
    assert rule_of(Level.RED, 6, t) == ("day", 5)
    assert rule_of(level_for(1, t, 5), 1, t) == ("window", 5)


def test_each_scope_counts_over_its_own_window(tmp_path: Path, state_url: str) -> None:
    from gateway.alerts.config import AlertConfigs

    alerts_dir = tmp_path / "alerts"
    alerts_dir.mkdir()
    (alerts_dir / "warning_levels.yaml").write_text(
        "owner: District CDC\nversion: '2026-11'\n"
        "per_class: {yellow: 2, orange: 3, red: 5, window: {days: 3, cases: 5, level: orange}}\n"
        "per_school: {yellow: 5, orange: 10, red: 20, window: {days: 7, cases: 5, "
        "level: yellow}}\n"
    )
    w = build_world(state_url)
    w.engine.configs = w.engine.notifier.configs = AlertConfigs(alerts_dir)
    six_days_ago = (MORNING - timedelta(days=6)).date()
    for student in ("c1s01", "c1s02", "c1s03", "c1s04", "c1s05"):
        w.absences.record(
            "sch1", six_days_ago, student, "c1", "illness", "", "nurse", MORNING - timedelta(days=6)
        )
    levels = w.engine.levels("sch1", MORNING.date())
    # Six days ago is inside the school's 7 days but outside the class's 3.
    assert [(c.scope, c.window_cases, c.window_days, c.level) for c in levels.classes] == []
    school = levels.school_level
    assert (school.window_cases, school.window_days, school.level) == (5, 7, Level.YELLOW)
