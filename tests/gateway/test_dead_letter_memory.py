"""The memory of dead-lettered payloads: retained repeats only, newest per topic, bounded."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.dead_letter_memory import DeadLetterMemory
from gateway.store.base import DeadLetter

AT = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def letter(topic: str, payload: bytes) -> DeadLetter:
    return DeadLetter(
        school="s1", topic=topic, reason="invalid", detail="x", payload=payload, received_at=AT
    )


def test_only_a_retained_delivery_of_the_same_payload_is_a_repeat() -> None:
    memory = DeadLetterMemory()
    memory.remember([letter("t/a", b"bad")])
    assert memory.is_repeat(letter("t/a", b"bad"), retained=True)
    assert not memory.is_repeat(letter("t/a", b"bad"), retained=False)  # live: news
    assert not memory.is_repeat(letter("t/a", b"other"), retained=True)
    assert not memory.is_repeat(letter("t/b", b"bad"), retained=True)


def test_seeding_keeps_the_newest_payload_of_each_topic() -> None:
    memory = DeadLetterMemory()
    memory.seed([letter("t/a", b"newest"), letter("t/a", b"older"), letter("t/b", b"b")])
    assert memory.is_repeat(letter("t/a", b"newest"), retained=True)
    assert not memory.is_repeat(letter("t/a", b"older"), retained=True)
    assert memory.is_repeat(letter("t/b", b"b"), retained=True)


def test_topics_are_bounded_forgetting_the_least_recent() -> None:
    memory = DeadLetterMemory(max_topics=3)
    memory.remember(letter(f"t/{i}", b"bad") for i in range(5))
    assert len(memory) == 3
    assert not memory.is_repeat(letter("t/0", b"bad"), retained=True)
    assert memory.is_repeat(letter("t/4", b"bad"), retained=True)
    memory.seed(letter(f"u/{i}", b"bad") for i in range(10))
    assert len(memory) == 3
