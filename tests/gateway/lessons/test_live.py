"""The in-memory live view: newest value wins, and memory stays bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.lessons.live import Latest, LiveLessons

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def test_newest_device_time_wins_whatever_the_arrival_order() -> None:
    live = LiveLessons()
    live.update("L1", "s1", "heart_rate", Latest(150, T0 + timedelta(seconds=2), "hr-1"))
    live.update("L1", "s1", "heart_rate", Latest(120, T0, "hr-1"))  # late redelivery
    assert live.snapshot("L1")[("s1", "heart_rate")].value == 150
    live.update("L1", "s1", "heart_rate", Latest(155, T0 + timedelta(seconds=3), "hr-1"))
    assert live.snapshot("L1")[("s1", "heart_rate")].value == 155
    assert live.snapshot("nope") == {}


def test_least_recently_updated_lessons_are_dropped_first() -> None:
    live = LiveLessons(max_lessons=3)
    for lesson in ("L1", "L2", "L3"):
        live.update(lesson, "s1", "rope_count", Latest(1, T0, "rope-1"))
    live.update("L1", "s1", "rope_count", Latest(2, T0 + timedelta(seconds=1), "rope-1"))
    live.update("L4", "s1", "rope_count", Latest(1, T0, "rope-1"))
    assert live.lessons() == ["L3", "L1", "L4"]  # L2 was the least recently updated
    assert live.snapshot("L2") == {}
