"""Which set belongs where, and each reason a set is held for review instead of ranked."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.competition.anti_cheat import Facts, Hold, Participant, RopeSet, holds, place
from tests.gateway.competition.conftest import sample

CUP = sample()
START = datetime.fromisoformat("2026-11-02T09:10:00+08:00")
FAIR_SET = RopeSet("sch1", "rope-3", 41, 60, 182, 1, START, START + timedelta(seconds=60))
ALICE = Participant("s1", "sch1", "5a", "5", "F")
FAIR = Facts("s1", "s1", ALICE, START + timedelta(seconds=58))


def reasons(rope_set: RopeSet = FAIR_SET, **changes: object) -> list[Hold]:
    placement = place(CUP, rope_set)
    assert placement is not None
    return holds(CUP, placement, rope_set, dataclasses.replace(FAIR, **changes))


def test_a_fair_set_in_its_round_is_ranked() -> None:
    placement = place(CUP, FAIR_SET)
    assert placement is not None and placement.round is not None
    assert (placement.event, placement.round.id) == ("rope_1min", "r1-1min")
    assert reasons() == []
    # Its 30 s twin belongs to the speed event, in the same hour.
    speed = dataclasses.replace(FAIR_SET, set_value_s=30, finished_at=START + timedelta(seconds=30))
    found = place(CUP, speed)
    assert found is not None and found.round is not None and found.round.id == "r1-speed"


@pytest.mark.parametrize(
    ("rope_set", "why"),
    [
        (dataclasses.replace(FAIR_SET, school="sch9"), "a school not taking part"),
        (dataclasses.replace(FAIR_SET, set_value_s=45), "a length no event has"),
        (
            dataclasses.replace(
                FAIR_SET,
                started_at=START + timedelta(days=1),
                finished_at=START + timedelta(days=1, seconds=60),
            ),
            "another day",
        ),
    ],
)
def test_a_set_that_is_not_of_the_competition_is_left_alone(rope_set: RopeSet, why: str) -> None:
    assert place(CUP, rope_set) is None, why


def test_a_count_above_the_events_ceiling_is_held() -> None:
    assert reasons(dataclasses.replace(FAIR_SET, count=301)) == [Hold.OVER_CEILING]
    assert reasons(dataclasses.replace(FAIR_SET, count=300)) == []


def test_a_set_across_the_rounds_closing_time_is_held_as_outside_its_window() -> None:
    late_start = datetime.fromisoformat("2026-11-02T09:59:30+08:00")
    late = dataclasses.replace(
        FAIR_SET, started_at=late_start, finished_at=late_start + timedelta(seconds=60)
    )
    placement = place(CUP, late)
    assert placement is not None and placement.round is None and placement.event == "rope_1min"
    assert holds(CUP, placement, late, dataclasses.replace(FAIR, last_progress_at=late_start)) == [
        Hold.OUTSIDE_WINDOW
    ]


def test_an_unbound_rope_or_one_handed_over_mid_set_is_held() -> None:
    assert reasons(bound_at_finish=None, bound_at_start=None, participant=None) == [Hold.UNBOUND]
    assert reasons(bound_at_start="s2") == [Hold.REBOUND_DURING_SET]
    assert reasons(bound_at_start=None) == [Hold.REBOUND_DURING_SET]


def test_a_student_the_roster_does_not_know_or_not_entered_is_held() -> None:
    assert reasons(participant=None) == [Hold.UNKNOWN_STUDENT]
    grade_3 = dataclasses.replace(ALICE, grade="3")
    assert reasons(participant=grade_3) == [Hold.NOT_ENTERED]


def test_a_set_without_live_progress_during_it_is_held() -> None:
    assert reasons(last_progress_at=None) == [Hold.NO_LIVE_PROGRESS]
    assert reasons(last_progress_at=START - timedelta(minutes=5)) == [Hold.NO_LIVE_PROGRESS]
    # A progress frame's time is an estimate: a few seconds either side still counts.
    assert reasons(last_progress_at=START + timedelta(seconds=63)) == []


def test_every_reason_is_kept_when_several_apply() -> None:
    cheat = dataclasses.replace(FAIR_SET, count=999)
    assert reasons(cheat, bound_at_start="s7", last_progress_at=None) == [
        Hold.OVER_CEILING,
        Hold.REBOUND_DURING_SET,
        Hold.NO_LIVE_PROGRESS,
    ]


@given(
    start_s=st.integers(0, 3600),
    count=st.integers(0, 1000),
    progress_s=st.integers(-120, 180) | st.none(),
    at_start=st.sampled_from(["s1", "s2", None]),
    at_finish=st.sampled_from(["s1", None]),
)
def test_a_set_is_ranked_exactly_when_no_rule_holds_it(
    start_s: int, count: int, progress_s: int | None, at_start: str | None, at_finish: str | None
) -> None:
    opens = datetime.fromisoformat("2026-11-02T09:00:00+08:00")
    started = opens + timedelta(seconds=start_s - 60)
    rope_set = RopeSet("sch1", "rope-3", 1, 60, count, 0, started, started + timedelta(seconds=60))
    progress = None if progress_s is None else started + timedelta(seconds=progress_s)
    facts = Facts(at_finish, at_start, ALICE if at_finish else None, progress)
    placement = place(CUP, rope_set)
    assert placement is not None and placement.event == "rope_1min"
    found = holds(CUP, placement, rope_set, facts)
    assert found == sorted(set(found), key=list(Hold).index)  # each once, in a fixed order
    in_window = placement.round is not None
    assert in_window == (60 <= start_s <= 3600)
    fair = (
        count <= 300
        and in_window
        and at_finish == at_start == "s1"
        and progress_s is not None
        and -5 <= progress_s <= 65
    )
    assert (found == []) == fair
    assert (Hold.OVER_CEILING in found) == (count > 300)
