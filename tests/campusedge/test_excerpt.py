"""Excerpts for log lines: bounded, one line, and whole when short."""

from __future__ import annotations

from campusedge.excerpt import EXCERPT_CHARS, excerpt
from campusedge.topics import short_topic


def test_a_valid_topic_is_kept_whole() -> None:
    longest = "campus/" + "/".join(["s" * 64, "hr_band", "d" * 64, "reading"])
    assert len(longest) <= EXCERPT_CHARS
    assert excerpt(longest) == longest
    assert excerpt("campus/学校/hr_band/hr-1/reading") == "campus/学校/hr_band/hr-1/reading"


def test_a_long_value_is_cut_and_says_how_long_it_was() -> None:
    topic = "campus/s1/hr_band/" + "x" * 60_000 + "/reading"
    out = excerpt(topic)
    assert out.startswith("campus/s1/hr_band/xxx")
    assert out.endswith(f"…({len(topic)} chars)")
    assert len(out) < EXCERPT_CHARS + 20
    assert excerpt(b"\xff" * 100, limit=8) == "\\xff\\xff…(100 bytes)"


def test_control_characters_cannot_start_a_log_line_of_their_own() -> None:
    out = excerpt("campus/s1\n2026-01-01 INFO forged line\r\x1b[2J")
    assert "\n" not in out and "\r" not in out and "\x1b" not in out
    assert out == "campus/s1\\x0a2026-01-01 INFO forged line\\x0d\\x1b[2J"


def test_topics_in_log_lines_use_the_same_excerpt() -> None:
    longest = "campus/" + "/".join(["s" * 64, "vision_screener", "d" * 64, "reading"])
    assert short_topic(longest) == longest  # every valid topic whole
    assert short_topic("campus/x\n" + "y" * 1000) == excerpt("campus/x\n" + "y" * 1000, 160)
