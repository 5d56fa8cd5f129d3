"""The listener's batch binding agrees with Roster.bind, lesson boundaries included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from gateway.fitness.listener import BatchBinder
from gateway.roster import LessonKind, Roster
from gateway.state import StateDB

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def test_batch_binding_matches_roster_bind(state_url: str) -> None:
    roster = Roster(StateDB(state_url))
    roster.add_class("c1", "sch", "C1", "5", "t1")
    for s in ("a", "b", "c"):
        roster.add_student(s, s.upper(), "M", date(2015, 1, 1), "c1")
    # rope-1 passes from a to b between lessons; a third lesson overlaps the second and
    # (started later) wins while both are open; one lesson is still open.
    first = roster.start_lesson("c1", "t1", LessonKind.LESSON, {"rope-1": "a"}, at=T0)
    roster.end_lesson(first.id, at=T0 + timedelta(minutes=40))
    second = roster.start_lesson(
        "c1", "t1", LessonKind.FITNESS_TEST, {"rope-1": "b"}, at=T0 + timedelta(minutes=50)
    )
    roster.end_lesson(second.id, at=T0 + timedelta(minutes=90))
    roster.start_lesson(
        "c1", "t2", LessonKind.LESSON, {"rope-1": "c", "hr-1": "c"}, at=T0 + timedelta(minutes=80)
    )
    times = [T0 + timedelta(minutes=m, seconds=s) for m in range(-5, 130, 5) for s in (0, 1)]
    binder = BatchBinder(roster, min(times))
    for device in ("rope-1", "hr-1", "hr-9"):
        for at in times:
            expected = roster.bind(device, at)
            got = binder.bind(device, at)
            assert (got[0] if got else None) == expected, (device, at)
    # lesson boundaries are inclusive at both ends, as in Roster.bind
    got = binder.bind("rope-1", T0 + timedelta(minutes=40))
    assert got is not None and got[0].student_id == "a"
    # a binder built later does not hold lessons that ended before its time
    late = BatchBinder(roster, T0 + timedelta(minutes=41))
    assert late.bind("rope-1", T0 + timedelta(minutes=10)) is None
