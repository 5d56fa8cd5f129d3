"""Opt-in allocation tracing: the growth since warm-up is logged with where it was allocated."""

from __future__ import annotations

import logging
import time

import pytest

from gateway.memory_trace import MemoryTrace


def test_growth_after_the_baseline_is_logged_with_its_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.memory_trace")
    trace = MemoryTrace(0.3, name="test")
    held: list[bytes] = []
    trace.start()
    try:
        deadline = time.monotonic() + 1.2
        while time.monotonic() < deadline:
            held.append(b"x" * 100_000)  # 100 kB a turn, kept: growth to be found
            time.sleep(0.02)
    finally:
        trace.stop()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "tracemalloc test: baseline" in text
    assert "rss " in text
    assert "tracemalloc test turn 1" in text
    # The growing list is charged to the line above, in this file.
    assert "test_memory_trace.py:" in text
    assert len(held) > 10


def test_a_non_positive_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="positive seconds"):
        MemoryTrace(0)
