"""Dead-letter retention, on every backend: old letters removed, newer ones kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.store.base import DeadLetter, Store
from tests.gateway.store.conftest import message


def letter(at: datetime, n: int) -> DeadLetter:
    return DeadLetter(
        school="sch-a",
        topic=f"campus/sch-a/hr_band/hr-{n}/reading",
        reason="not_json",
        detail=f"letter {n}",
        payload=b"garbage",
        received_at=at,
    )


def test_letters_before_the_cutoff_are_removed_and_the_rest_kept(store: Store) -> None:
    now = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    old = [letter(now - timedelta(days=40, minutes=n), n) for n in range(5)]
    new = [letter(now - timedelta(days=2, minutes=n), 10 + n) for n in range(3)]
    store.write_dead_letters([*old, *new])
    store.write([message("hr-01", 1)])  # readings are not the dead letters' to remove
    cutoff = now - timedelta(days=30)
    assert store.delete_dead_letters(cutoff) == 5
    assert sorted(d.detail for d in store.dead_letters()) == sorted(d.detail for d in new)
    assert store.delete_dead_letters(cutoff) == 0
    assert store.count_messages() == 1
