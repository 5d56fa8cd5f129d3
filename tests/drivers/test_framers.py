"""Framers count what they throw away: bytes of noise and whole corrupted frames."""

from __future__ import annotations

from drivers import jump_rope
from drivers.lines import LineFramer


def test_rope_framer_counts_a_corrupted_frame_and_keeps_the_next() -> None:
    good = jump_rope.Realtime(4, 9, 1000, 1, 1, 0, 3, 7, 80).encode()
    bad = bytearray(good)
    bad[10] ^= 0xFF
    framer = jump_rope.RopeFramer()
    assert framer.feed(bytes(bad) + good) == [good]
    assert framer.corrupted_frames >= 1
    assert framer.discarded_bytes == len(bad)


def test_line_framer_drops_an_overlong_line_and_resumes() -> None:
    framer = LineFramer(b"$", max_len=20)
    out = framer.feed(b"$" + b"x" * 40 + b"\r\n$OK*00\r\n")
    assert out == [b"$OK*00"]
    assert framer.corrupted_frames == 1


def test_line_framer_restarts_at_a_new_start_character() -> None:
    framer = LineFramer(b"#", max_len=200)
    assert framer.feed(b"#VS,cut short#VS,whole;0000\n") == [b"#VS,whole;0000"]
    assert framer.discarded_bytes == len(b"#VS,cut short")
