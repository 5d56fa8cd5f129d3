"""Store-and-forward buffer: order, removal on ack, persistence and the drop policy."""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path

import pytest

from edge.buffer import CLOCK_FLOOR_MS, UNSET_CLOCK_SPREAD_MS, Buffer, NewMessage

# A fixed wall clock, so that the tests below can name sequence numbers.
T = CLOCK_FLOOR_MS + 86_400_000


def _buffer(path: Path, max_bytes: int = 1 << 20, now_ms: int = T) -> Buffer:
    return Buffer(path, max_bytes=max_bytes, clock_ms=lambda: now_ms)


def _msgs(
    buf: Buffer, device: str, n: int, size: int = 100, event: bool = False
) -> list[NewMessage]:
    return [
        NewMessage(device, buf.next_seq(device), f"t/{device}", b"x" * size, event)
        for _ in range(n)
    ]


def test_order_and_removal(tmp_path: Path) -> None:
    buf = _buffer(tmp_path / "b.db")
    buf.add(_msgs(buf, "a", 3) + _msgs(buf, "b", 2))
    first = buf.pending(0, 10)
    assert [(e.device_id, e.seq - T) for e in first] == [
        ("a", 0),
        ("a", 1),
        ("a", 2),
        ("b", 0),
        ("b", 1),
    ]
    assert [e.id for e in buf.pending(first[1].id, 2)] == [first[2].id, first[3].id]
    buf.remove([first[0].id, first[3].id])
    assert [e.seq - T for e in buf.pending(0, 10)] == [1, 2, 1]
    assert (buf.count, buf.bytes) == (3, 300)


def test_survives_restart_without_reusing_sequence_numbers(tmp_path: Path) -> None:
    buf = _buffer(tmp_path / "b.db")
    buf.add(_msgs(buf, "a", 5))
    buf.remove([e.id for e in buf.pending(0, 2)])
    buf.close()
    # Reopened later (and even with the clock set back): the stored counter goes on.
    again = _buffer(tmp_path / "b.db", now_ms=T + 60_000)
    assert [e.seq - T for e in again.pending(0, 10)] == [2, 3, 4]
    assert again.next_seq("a") == T + 5
    assert again.count == 3
    again.close()
    assert _buffer(tmp_path / "b.db", now_ms=T - 60_000).next_seq("a") == T + 5


def test_a_fresh_buffer_starts_a_device_at_the_wall_clock_in_ms(tmp_path: Path) -> None:
    before = time.time_ns() // 1_000_000
    buf = Buffer(tmp_path / "b.db", max_bytes=1 << 20)
    seq = buf.next_seq("hr-1")
    assert before <= seq <= time.time_ns() // 1_000_000
    assert seq < 2**53  # exact as a JSON number


def test_a_second_fresh_buffer_numbers_above_the_first(tmp_path: Path) -> None:
    # A re-imaged box, or a band kit moved to another box: the same device, a new buffer an
    # hour later. Restarting at 0 made the gateway discard everything as duplicates.
    first = _buffer(tmp_path / "old" / "b.db")
    first.add(_msgs(first, "hr-1", 3000))  # more than a device sends in an hour
    used = [e.seq for e in first.pending(0, 5000)]
    second = _buffer(tmp_path / "new" / "b.db", now_ms=T + 3_600_000)
    second.add(_msgs(second, "hr-1", 3000))
    fresh = [e.seq for e in second.pending(0, 5000)]
    assert min(fresh) > max(used)


def test_an_unset_clock_starts_at_random_above_the_floor_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    boot = 42_000  # 42 s after 1970-01-01: no real-time clock, no NTP yet
    starts = []
    for i in range(2):
        buf = Buffer(
            tmp_path / f"b{i}.db", max_bytes=1 << 20, clock_ms=lambda: boot, rng=random.Random(i)
        )
        with caplog.at_level(logging.WARNING, logger="edge.buffer"):
            starts.append(buf.next_seq("hr-1"))
        assert buf.next_seq("hr-1") == starts[-1] + 1
    assert all(CLOCK_FLOOR_MS <= s < CLOCK_FLOOR_MS + UNSET_CLOCK_SPREAD_MS for s in starts)
    assert starts[0] != starts[1]
    assert "never set" in caplog.text and "hr-1" in caplog.text


def test_bound_drops_oldest_readings_first_and_spares_in_flight(tmp_path: Path) -> None:
    buf = _buffer(tmp_path / "b.db", max_bytes=1000)
    buf.add(_msgs(buf, "gate", 2, event=True) + _msgs(buf, "band", 6))
    in_flight = {buf.pending(0, 3)[2].id}  # the first reading is being published
    dropped = buf.add(_msgs(buf, "band", 4), in_flight)
    left = buf.pending(0, 100)
    assert dropped == 2 and buf.bytes == 1000
    # Both events survive; the in-flight reading survives; the next-oldest readings went.
    assert [(e.device_id, e.seq - T) for e in left][:4] == [
        ("gate", 0),
        ("gate", 1),
        ("band", 0),
        ("band", 3),
    ]
    assert buf.dropped_total() == 2


def test_events_are_dropped_only_when_no_reading_is_left(tmp_path: Path) -> None:
    buf = _buffer(tmp_path / "b.db", max_bytes=300)
    buf.add(_msgs(buf, "gate", 3, event=True))
    buf.add(_msgs(buf, "gate", 1, event=True))
    assert [e.seq - T for e in buf.pending(0, 10)] == [1, 2, 3]
