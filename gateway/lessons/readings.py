"""A lesson's students and their stored heart-rate samples, as the lesson routes read them.

A device is bound to a student for a lesson's span (`gateway.binding`), and the roster refuses
to give one device to two open lessons at once, so the readings of a student's devices within
the lesson's span are the readings bound to that student in that lesson.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from gateway.roster import Lesson, Roster, Student
from gateway.store.base import Store

# Per device and lesson: a band at 1 Hz sends 3600 readings an hour, far below this.
MAX_READINGS_PER_DEVICE: Final = 1_000_000


def lesson_students(roster: Roster, lesson: Lesson) -> dict[str, tuple[Student, list[str]]]:
    """student id -> (student, device ids assigned to them in the lesson), by device id."""
    out: dict[str, tuple[Student, list[str]]] = {}
    for device_id, student_id in sorted(roster.assignments(lesson.id).items()):
        if student_id not in out:
            student = roster.student(student_id)
            if student is None:
                continue
            out[student_id] = (student, [])
        out[student_id][1].append(device_id)
    return out


def heart_rate_samples(
    store: Store, devices: list[str], since: datetime, until: datetime
) -> list[tuple[datetime, float]]:
    """(device time, bpm) of the devices' heart-rate readings from *since* to *until*."""
    return [
        (r.ts, r.value)
        for device_id in devices
        for r in store.readings(
            device_id=device_id,
            metric="heart_rate",
            since=since,
            until=until,
            limit=MAX_READINGS_PER_DEVICE,
        )
    ]
