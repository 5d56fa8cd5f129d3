"""Cached roster look-ups for the rules: students, cards and lessons for every message."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from gateway.roster import Lesson, Roster, Student

T = TypeVar("T")


# Entries kept at most (past this the cache starts over), and the size from which expired
# entries are dropped, at most once a time-to-live.
_MAX_ITEMS = 50_000
_PRUNE_FROM = 1_000


class _TtlCache(Generic[T]):
    """Values by key for *ttl_s* seconds. Expired entries are dropped as new ones come, so
    that the cache holds about what was asked within one time-to-live: a gate that sees new
    cards every morning (or a soak's made-up ones) must not fill it with dead entries."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._items: dict[str, tuple[float, T]] = {}
        self._lock = threading.Lock()
        self._pruned_at = time.monotonic()

    def get(self, key: str, load: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and now - hit[0] < self.ttl_s:
                return hit[1]
        value = load()
        with self._lock:
            if len(self._items) >= _PRUNE_FROM and now - self._pruned_at >= self.ttl_s:
                self._items = {k: v for k, v in self._items.items() if now - v[0] < self.ttl_s}
                self._pruned_at = now
            if len(self._items) >= _MAX_ITEMS:
                self._items.clear()
            self._items[key] = (now, value)
        return value

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class RosterLookup:
    """Students, cards and lessons, cached for a few seconds.

    Which student wears a device is no look-up here: ingest binds every message at its own
    time (`gateway.binding`), and the rules read it from the stored message.
    """

    def __init__(
        self, roster: Roster, lesson_ttl_s: float = 2.0, roster_ttl_s: float = 30.0
    ) -> None:
        self.roster = roster
        self._students: _TtlCache[Student | None] = _TtlCache(roster_ttl_s)
        self._cards: _TtlCache[str | None] = _TtlCache(roster_ttl_s)
        self._lessons: _TtlCache[Lesson | None] = _TtlCache(lesson_ttl_s)
        self._schools: _TtlCache[str | None] = _TtlCache(roster_ttl_s)

    def student(self, student_id: str) -> Student | None:
        return self._students.get(student_id, lambda: self.roster.student(student_id))

    def student_for_card(self, card_id: str) -> Student | None:
        student_id = self._cards.get(card_id, lambda: self.roster.student_for_card(card_id))
        return self.student(student_id) if student_id else None

    def lesson(self, lesson_id: str) -> Lesson | None:
        return self._lessons.get(lesson_id, lambda: self.roster.lesson(lesson_id))

    def school_of_class(self, class_id: str) -> str | None:
        def load() -> str | None:
            row = self.roster.class_of(class_id)
            return row["school"] if row else None

        return self._schools.get(class_id, load)

    def invalidate(self) -> None:
        for cache in (self._students, self._cards, self._lessons):
            cache.clear()
