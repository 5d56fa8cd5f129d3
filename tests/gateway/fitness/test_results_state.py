"""Results on both state databases: a device result sent twice is stored once."""

from __future__ import annotations

from datetime import UTC, date, datetime

from gateway.fitness import results as stored
from gateway.roster import LessonKind, Roster
from gateway.state import StateDB

AT = datetime(2026, 9, 1, 1, 0, tzinfo=UTC)


def test_a_device_result_sent_twice_is_one_row(state_url: str) -> None:
    db = StateDB(state_url)
    roster = Roster(db)
    roster.add_class("c1", "sch1", "Grade 7 class 1", "7")
    roster.add_student("s1", "Name", "F", date(2013, 5, 2), "c1")
    session = roster.start_lesson("c1", "t1", LessonKind.FITNESS_TEST, {"scale-1": "s1"}, at=AT)
    results = stored.FitnessResults(db, roster)
    sent = stored.NewResult(session.id, "s1", "height_cm", "158.5", AT, "device", "scale-1", 7)
    [first] = results.record([sent])
    [again] = results.record([sent])  # redelivered
    staff = stored.NewResult(session.id, "s1", "weight_kg", "47.2", AT, "staff", entered_by="t1")
    [typed] = results.record([staff])
    assert isinstance(first, stored.TestResult) and isinstance(again, stored.TestResult)
    assert again.id == first.id and str(again.value) == "158.5"
    assert isinstance(typed, stored.TestResult) and typed.id != first.id
    assert [r.item for r in results.rows(lesson_ids=[session.id])] == ["height_cm", "weight_kg"]
    assert results.is_recorded("scale-1", 7) and not results.is_recorded("scale-1", 8)
