"""Absences: one row per student and day, and the illness absences the warning levels read."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.health.absences import Absences, AbsentStudent
from gateway.state import StateDB
from tests.gateway.alerts.scenario import MORNING


def test_illness_absences_over_a_span_each_student_once(state_url: str) -> None:
    absences = Absences(StateDB(state_url))
    day = MORNING.date()
    absences.record("sch1", day, "c1s01", "c1", "illness", "cough", "nurse", MORNING)
    absences.record("sch1", day, "c1s02", "c1", "other", "", "nurse", MORNING)
    absences.record("sch2", day, "x1s01", "x1", "illness", "", "nurse", MORNING)
    yesterday = day - timedelta(days=1)
    absences.record("sch1", yesterday, "c1s01", "c1", "illness", "", "nurse", MORNING)
    absences.record("sch1", yesterday, "c2s05", "c2", "illness", "fever", "nurse", MORNING)
    assert absences.absent_for_illness("sch1", day, day) == [AbsentStudent("c1s01", "c1")]
    # Two days ill is one student; another school's and a non-illness absence are not counted.
    assert sorted(
        absences.absent_for_illness("sch1", yesterday, day), key=lambda a: a.student_id
    ) == [AbsentStudent("c1s01", "c1"), AbsentStudent("c2s05", "c2")]
    assert (
        absences.absent_for_illness("sch1", day + timedelta(days=1), day + timedelta(days=1)) == []
    )


def test_a_second_entry_overwrites_what_it_says_not_where_the_student_was(
    state_url: str,
) -> None:
    absences = Absences(StateDB(state_url))
    day = MORNING.date()
    absences.record("sch1", day, "c1s01", "c1", "other", "", "nurse", MORNING)
    assert absences.absent_for_illness("sch1", day, day) == []
    # The same child and day again, after a class move: the reason changes, the class stays.
    absences.record("sch1", day, "c1s01", "c2", "illness", "fever", "nurse2", MORNING)
    assert absences.absent_for_illness("sch1", day, day) == [AbsentStudent("c1s01", "c1")]


def test_an_unknown_reason_is_refused_and_nothing_stored(state_url: str) -> None:
    absences = Absences(StateDB(state_url))
    day = MORNING.date()
    with pytest.raises(ValueError, match="reason must be one of illness, other"):
        absences.record("sch1", day, "c1s01", "c1", "Illness", "", "nurse", MORNING)
    assert absences.absent_for_illness("sch1", day, day) == []
