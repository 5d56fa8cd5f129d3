"""The binding rule: a device's student and lesson at a message's own time, per school."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from campusedge.contract import TimeQuality
from campusedge.topics import DeviceKind
from gateway.binding import Binder
from gateway.roster import LessonKind, Roster
from gateway.state import StateDB
from gateway.store.base import StoredMessage

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
_seq = itertools.count(1)


def message(school: str, device_id: str, at: datetime) -> StoredMessage:
    return StoredMessage(
        school=school,
        kind=DeviceKind.HR_BAND,
        device_id=device_id,
        seq=next(_seq),
        ts=at,
        time_quality=TimeQuality.SYNCED,
        received_at=at,
        readings=(("heart_rate", 120.0, "bpm"),),
    )


def roster_with_lessons(state: str) -> Roster:
    roster = Roster(StateDB(state))
    roster.add_class("c1", "sch", "C1", "5", "t1")
    for s in ("a", "b", "c"):
        roster.add_student(s, s.upper(), "M", date(2015, 1, 1), "c1")
    # rope-1 passes from a to b between lessons; a third lesson overlaps the second and
    # (started later) wins while both are open; one lesson is still open.
    first = roster.start_lesson(
        "c1", "t1", LessonKind.LESSON, {"rope-1": "a"}, at=T0, lesson_id="first"
    )
    roster.end_lesson(first.id, at=T0 + timedelta(minutes=40))
    second = roster.start_lesson(
        "c1",
        "t1",
        LessonKind.FITNESS_TEST,
        {"rope-1": "b"},
        at=T0 + timedelta(minutes=50),
        lesson_id="second",
    )
    roster.end_lesson(second.id, at=T0 + timedelta(minutes=90))
    roster.start_lesson(
        "c1",
        "t2",
        LessonKind.LESSON,
        {"rope-1": "c", "hr-1": "c"},
        at=T0 + timedelta(minutes=80),
        lesson_id="third",
    )
    return roster


def test_the_binding_at_a_messages_own_time(state_url: str) -> None:
    binder = Binder(roster_with_lessons(state_url))

    def who(device: str, minutes: float) -> tuple[str, str] | None:
        found = binder.bind("sch", device, T0 + timedelta(minutes=minutes))
        return (found.student_id, found.lesson_id) if found else None

    assert who("rope-1", -1) is None  # before any lesson
    assert who("rope-1", 0) == ("a", "first")  # boundaries are inclusive at both ends
    assert who("rope-1", 40) == ("a", "first")
    assert who("rope-1", 45) is None  # between lessons
    assert who("rope-1", 60) == ("b", "second")
    assert who("rope-1", 85) == ("c", "third")  # the latest-started open lesson wins
    assert who("rope-1", 300) == ("c", "third")  # still open
    assert who("hr-1", 60) is None
    assert who("hr-9", 85) is None  # assigned nowhere


def test_a_batch_is_bound_as_each_message_alone(state_url: str) -> None:
    roster = roster_with_lessons(state_url)
    binder = Binder(roster)
    times = [T0 + timedelta(minutes=m, seconds=s) for m in range(-5, 130, 5) for s in (0, 1)]
    messages = [message("sch", d, at) for d in ("rope-1", "hr-1", "hr-9") for at in times]
    for m in binder.bind_messages(messages):
        alone = binder.bind("sch", m.device_id, m.ts)
        assert (m.student_id, m.lesson_id) == (
            (alone.student_id, alone.lesson_id) if alone else (None, None)
        ), (m.device_id, m.ts)


def test_a_device_of_another_school_with_the_same_id_is_not_bound(state_url: str) -> None:
    binder = Binder(roster_with_lessons(state_url))
    at = T0 + timedelta(minutes=85)
    ours, theirs = binder.bind_messages([message("sch", "hr-1", at), message("other", "hr-1", at)])
    assert (ours.student_id, ours.lesson_id) == ("c", "third")
    assert (theirs.student_id, theirs.lesson_id) == (None, None)
    assert binder.bind("other", "hr-1", at) is None
