"""Store-and-forward buffer: order, removal on ack, persistence and the drop policy."""

from __future__ import annotations

from pathlib import Path

from edge.buffer import Buffer, NewMessage


def _msgs(buf: Buffer, device: str, n: int, size: int = 100,
          event: bool = False) -> list[NewMessage]:
    return [NewMessage(device, buf.next_seq(device), f"t/{device}", b"x" * size, event)
            for _ in range(n)]


def test_order_and_removal(tmp_path: Path) -> None:
    buf = Buffer(tmp_path / "b.db", max_bytes=1 << 20)
    buf.add(_msgs(buf, "a", 3) + _msgs(buf, "b", 2))
    first = buf.pending(0, 10)
    assert [(e.device_id, e.seq) for e in first] == [("a", 0), ("a", 1), ("a", 2), ("b", 0),
                                                     ("b", 1)]
    assert [e.id for e in buf.pending(first[1].id, 2)] == [first[2].id, first[3].id]
    buf.remove([first[0].id, first[3].id])
    assert [e.seq for e in buf.pending(0, 10)] == [1, 2, 1]
    assert (buf.count, buf.bytes) == (3, 300)


def test_survives_restart_without_reusing_sequence_numbers(tmp_path: Path) -> None:
    buf = Buffer(tmp_path / "b.db", max_bytes=1 << 20)
    buf.add(_msgs(buf, "a", 5))
    buf.remove([e.id for e in buf.pending(0, 2)])
    buf.close()
    again = Buffer(tmp_path / "b.db", max_bytes=1 << 20)
    assert [e.seq for e in again.pending(0, 10)] == [2, 3, 4]
    assert again.next_seq("a") == 5
    assert again.count == 3


def test_bound_drops_oldest_readings_first_and_spares_in_flight(tmp_path: Path) -> None:
    buf = Buffer(tmp_path / "b.db", max_bytes=1000)
    buf.add(_msgs(buf, "gate", 2, event=True) + _msgs(buf, "band", 6))
    in_flight = {buf.pending(0, 3)[2].id}  # the first reading is being published
    dropped = buf.add(_msgs(buf, "band", 4), in_flight)
    left = buf.pending(0, 100)
    assert dropped == 2 and buf.bytes == 1000
    # Both events survive; the in-flight reading survives; the next-oldest readings went.
    assert [(e.device_id, e.seq) for e in left][:4] == [("gate", 0), ("gate", 1), ("band", 0),
                                                        ("band", 3)]
    assert buf.dropped_total() == 2


def test_events_are_dropped_only_when_no_reading_is_left(tmp_path: Path) -> None:
    buf = Buffer(tmp_path / "b.db", max_bytes=300)
    buf.add(_msgs(buf, "gate", 3, event=True))
    buf.add(_msgs(buf, "gate", 1, event=True))
    assert [e.seq for e in buf.pending(0, 10)] == [1, 2, 3]
