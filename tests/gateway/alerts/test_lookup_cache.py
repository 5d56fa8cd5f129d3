"""The rules' roster cache keeps about what was asked within its time-to-live, not every key."""

from __future__ import annotations

import pytest

from gateway.alerts import lookup
from gateway.alerts.lookup import _TtlCache


def test_expired_entries_are_dropped_as_new_keys_come(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(lookup.time, "monotonic", lambda: clock[0])
    cache: _TtlCache[str | None] = _TtlCache(ttl_s=30.0)
    loads: list[str] = []

    def load(key: str) -> str | None:
        loads.append(key)
        return None  # an unknown card: cached as such

    # A gate sees new cards all day: 100 a second for ten minutes.
    for second in range(600):
        clock[0] = 1000.0 + second
        for n in range(100):
            key = f"card-{second}-{n}"
            cache.get(key, lambda key=key: load(key))
    assert len(loads) == 60_000
    # Bounded by what came within about two times-to-live, not by everything ever asked.
    assert len(cache) <= 100 * 61
    # A recent key is still cached; an expired one is loaded again.
    cache.get("card-599-5", lambda: load("again"))
    assert loads[-1] != "again"
    cache.get("card-0-5", lambda: load("again"))
    assert loads[-1] == "again"
