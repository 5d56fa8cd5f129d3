"""The live view of open lessons: each student's latest heart rate, rope count and rep count.

Kept in memory by the live-lesson consumer, bounded (least recently updated lessons are dropped
first), and refilled from the store for students it does not hold (after a restart, or a
lesson it dropped), so the view is never wrong for long, only sometimes slower to build.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Final

LIVE_METRICS: Final = ("heart_rate", "rope_count", "rep_count")


@dataclass(frozen=True)
class Latest:
    """A metric's newest value and the device time it was measured at."""

    value: float
    ts: datetime
    device_id: str


class LiveLessons:
    """Latest values per lesson and student; safe to feed from the writer thread and read
    from API threads."""

    def __init__(self, max_lessons: int = 64) -> None:
        self.max_lessons = max_lessons
        self._lock = threading.Lock()
        self._lessons: OrderedDict[str, dict[tuple[str, str], Latest]] = OrderedDict()

    def update(self, lesson_id: str, student_id: str, metric: str, latest: Latest) -> None:
        with self._lock:
            lesson = self._lessons.get(lesson_id)
            if lesson is None:
                lesson = self._lessons[lesson_id] = {}
                while len(self._lessons) > self.max_lessons:
                    self._lessons.popitem(last=False)
            else:
                self._lessons.move_to_end(lesson_id)
            held = lesson.get((student_id, metric))
            # A redelivered or late message must not replace a newer value.
            if held is None or latest.ts >= held.ts:
                lesson[(student_id, metric)] = latest

    def snapshot(self, lesson_id: str) -> dict[tuple[str, str], Latest]:
        with self._lock:
            return dict(self._lessons.get(lesson_id, {}))

    def lessons(self) -> list[str]:
        with self._lock:
            return list(self._lessons)
