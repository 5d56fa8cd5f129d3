"""Who may see which lesson, class and student, and whether names are shown; health-read audit.

- nobody sees a lesson or class of a school they do not belong to (answered 404, as an
  unknown id);
- health_staff read every lesson, class and student, with names;
- a pe_teacher reads the classes whose PE teacher they are (with names), and lessons they
  opened themselves (a substitute: pseudonymous ids only, no names);
- campus_it reads no student data at all (the route's role check refuses it first), only
  the classes and the pseudonymous student ids it imported (`GET /api/classes/{id}/students`),
  which other PE teachers see as well, to hand out devices when they cover a lesson.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from fastapi import status

from gateway.api.refusals import Refusal
from gateway.audit import AuditLog
from gateway.auth import Role, User
from gateway.i18n import N_
from gateway.names import by_name
from gateway.roster import Lesson, Roster, Student


@dataclass(frozen=True)
class Access:
    """What a permitted reader may see."""

    show_names: bool


class StudentRow(Protocol):
    @property
    def student_id(self) -> str: ...

    @property
    def name(self) -> str | None: ...


R = TypeVar("R", bound=StudentRow)


def listed(rows: list[R], access: Access) -> list[R]:
    """A class's rows as a teacher scans them: by name in pinyin order where names are shown;
    as they are where not (an order by names the reader may not see would tell of them)."""
    if not access.show_names:
        return rows
    return by_name(rows, lambda r: r.name or "", lambda r: r.student_id)


def lesson_access(roster: Roster, user: User, lesson_id: str) -> tuple[Lesson, Access]:
    lesson = roster.lesson(lesson_id)
    cls = roster.class_of(lesson.class_id) if lesson is not None else None
    # Another school's lesson is answered as an unknown one: its id tells nothing.
    if lesson is None or cls is None or cls["school"] not in user.schools:
        raise Refusal(status.HTTP_404_NOT_FOUND, N_("no lesson {lesson_id!r}"), lesson_id=lesson_id)
    if user.role is Role.HEALTH_STAFF:
        return lesson, Access(show_names=True)
    class_teacher = cls.get("pe_teacher_id") == user.id
    if user.role is Role.PE_TEACHER and (class_teacher or lesson.teacher_id == user.id):
        return lesson, Access(show_names=class_teacher)
    raise Refusal(
        status.HTTP_403_FORBIDDEN,
        N_("lesson {lesson_id!r} is neither yours nor of a class you teach"),
        lesson_id=lesson_id,
    )


def _class_or_404(roster: Roster, user: User, class_id: str) -> dict[str, str]:
    """The class, if it is of one of the user's schools; another school's is answered as an
    unknown one."""
    cls = roster.class_of(class_id)
    if cls is None or cls["school"] not in user.schools:
        raise Refusal(status.HTTP_404_NOT_FOUND, N_("no class {class_id!r}"), class_id=class_id)
    return cls


def in_schools(roster: Roster, user: User, class_id: str) -> bool:
    """Whether class *class_id* exists and is of one of the user's schools."""
    cls = roster.class_of(class_id)
    return cls is not None and cls["school"] in user.schools


def student_or_404(roster: Roster, user: User, student_id: str) -> Student:
    """The student, if of a class of one of the user's schools; else 404, as for an unknown
    student."""
    student = roster.student(student_id)
    if student is None or not in_schools(roster, user, student.class_id):
        raise Refusal(
            status.HTTP_404_NOT_FOUND, N_("no student {student_id!r}"), student_id=student_id
        )
    return student


def class_access(roster: Roster, user: User, class_id: str) -> tuple[dict[str, str], Access]:
    cls = _class_or_404(roster, user, class_id)
    if user.role is Role.HEALTH_STAFF:
        return cls, Access(show_names=True)
    if user.role is Role.PE_TEACHER and cls.get("pe_teacher_id") == user.id:
        return cls, Access(show_names=True)
    raise Refusal(
        status.HTTP_403_FORBIDDEN,
        N_("class {class_id!r} is not a class you teach"),
        class_id=class_id,
    )


def class_roster_access(roster: Roster, user: User, class_id: str) -> tuple[dict[str, str], Access]:
    """Listing a class's students: names for health staff and the class's PE teacher; ids
    only for campus IT (who manage the roster) and other PE teachers (who may cover a lesson
    and assign its devices by student id)."""
    cls = _class_or_404(roster, user, class_id)
    names = user.role is Role.HEALTH_STAFF or (
        user.role is Role.PE_TEACHER and cls.get("pe_teacher_id") == user.id
    )
    return cls, Access(show_names=names)


def visible_classes(roster: Roster, user: User) -> list[dict[str, str | int | None]]:
    """Classes a user may list, of the user's schools: a PE teacher those they teach; health
    staff and campus IT all."""
    classes = [c for c in roster.classes() if c["school"] in user.schools]
    if user.role is Role.PE_TEACHER:
        return [c for c in classes if c["pe_teacher_id"] == user.id]
    return classes


def require_owner(roster: Roster, user: User, lesson: Lesson) -> None:
    """Writing results: the teacher running the session or the class's PE teacher."""
    cls = roster.class_of(lesson.class_id) or {}
    if user.role is Role.PE_TEACHER and user.id in (lesson.teacher_id, cls.get("pe_teacher_id")):
        return
    raise Refusal(
        status.HTTP_403_FORBIDDEN,
        N_("only the teacher running the session or the class's PE teacher may enter results"),
    )


class HeartRateReads:
    """Audits reads of students' heart rate by a person: one entry per student read.

    A live view is polled every few seconds; it is recorded once per user, lesson and student
    every `live_every_s`, so the log says who looked at whom without a row per poll.
    """

    def __init__(self, audit: AuditLog, live_every_s: float = 300.0) -> None:
        self.audit = audit
        self.live_every_s = live_every_s
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str, str], float] = {}

    def record(
        self,
        user: User,
        action: str,
        lesson_id: str,
        student_ids: Iterable[str],
        *,
        throttle: bool = False,
    ) -> None:
        now = time.monotonic()
        due: list[str] = []
        with self._lock:
            for student_id in student_ids:
                key = (user.id, lesson_id, student_id)
                if throttle and now - self._last.get(key, -1e18) < self.live_every_s:
                    continue
                self._last[key] = now
                due.append(student_id)
            if len(self._last) > 100_000:  # bounded: forgetting only means one extra entry
                self._last.clear()
        for student_id in due:
            self.audit.record(
                user, action, "student_heart_rate", student_id, detail=f"lesson={lesson_id}"
            )
