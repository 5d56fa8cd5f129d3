"""The live-lesson consumer: each bound student's newest heart rate, rope and rep count."""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager

from gateway.lessons.live import LIVE_METRICS, Latest, LiveLessons
from gateway.store.commit_log import Committed


class LiveLessonsConsumer:
    """Keeps `LiveLessons` (in memory) up to date from bound messages."""

    name = "live_lessons"
    savepoints = False  # memory only

    def __init__(self, live: LiveLessons) -> None:
        self.live = live

    def exclusive(self) -> AbstractContextManager[object]:
        return contextlib.nullcontext()

    def wants(self, entry: Committed) -> bool:
        m = entry.message
        return m is not None and m.student_id is not None and m.lesson_id is not None

    def handle(self, entry: Committed) -> None:
        m = entry.message
        if m is None or m.student_id is None or m.lesson_id is None:
            return
        for metric, value, _unit in m.readings:
            if metric in LIVE_METRICS:
                self.live.update(
                    m.lesson_id, m.student_id, metric, Latest(value, m.ts, m.device_id)
                )

    def finish(self) -> None:
        pass
