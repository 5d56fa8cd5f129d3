"""The one binding rule: which student wore a device, in which lesson, at a message's own time.

A device is bound by the latest-started lesson of its own school that assigns it and is open at
the message's device time (started at or before it, not ended before it): `hr-01` of one
school is not `hr-01` of another. The roster holds the lessons and
assignments; this module alone decides what they mean for a message. Ingest binds every
message once, before it is stored, so everything downstream reads `student_id` and
`lesson_id` from the stored message instead of asking the roster again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from gateway.roster import Binding, Lesson, Roster
from gateway.store.base import StoredMessage, bound

Held = tuple[Binding, Lesson]
# (device id, school of the lesson's class, binding, lesson), as the roster lists them
Assignment = tuple[str, str, Binding, Lesson]


def open_at(held: Iterable[Held], at: datetime) -> Held | None:
    """The binding in force at *at* among one device's lessons: the latest-started open one."""
    best: Held | None = None
    for binding, lesson in held:
        is_open = lesson.started_at <= at and (lesson.ended_at is None or lesson.ended_at >= at)
        if is_open and (best is None or lesson.started_at > best[1].started_at):
            best = (binding, lesson)
    return best


class Binder:
    """Binds messages through the roster, one roster query per batch."""

    def __init__(self, roster: Roster) -> None:
        self.roster = roster

    def bind(self, school: str, device_id: str, at: datetime) -> Binding | None:
        """Who wore *device_id* of *school* at *at*, and in which lesson; None when nobody."""
        found = self.lesson_of(school, device_id, at)
        return found[0] if found is not None else None

    def lesson_of(self, school: str, device_id: str, at: datetime) -> Held | None:
        """The binding at *at* with its lesson (kind, teacher), None when unbound."""
        return open_at(
            (
                (binding, lesson)
                for _, held_by, binding, lesson in self.roster.assignments_of_device(device_id)
                if held_by == school
            ),
            at,
        )

    def bind_messages(self, messages: Sequence[StoredMessage]) -> list[StoredMessage]:
        """The messages with `student_id` and `lesson_id` set where a lesson binds them."""
        if not messages:
            return []
        by_device: dict[tuple[str, str], list[Held]] = {}
        for device_id, school, binding, lesson in self.roster.assignments_open_since(
            min(m.ts for m in messages)
        ):
            by_device.setdefault((school, device_id), []).append((binding, lesson))
        if not by_device:
            return list(messages)
        out = []
        for m in messages:
            held = by_device.get((m.school, m.device_id))
            found = open_at(held, m.ts) if held else None
            if found is None:
                out.append(m)
            else:
                out.append(bound(m, found[0].student_id, found[0].lesson_id))
        return out
