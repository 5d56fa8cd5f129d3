"""Short, one-line excerpts of what came from the wire (topics, payloads), for log lines."""

from __future__ import annotations

import re

# Longer than any valid topic (campus/, two ids of at most 64 characters, a kind, a channel),
# and than most details.
EXCERPT_CHARS = 340

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def excerpt(value: str | bytes, limit: int = EXCERPT_CHARS) -> str:
    """*value* cut to *limit* characters with the length it had, control characters escaped.

    Whoever may publish chooses topics and payloads: a 60 KB topic repeated in every log line
    grew a log by 240 MB, and a newline in one would forge a log line of its own.
    """
    if isinstance(value, bytes):
        text, size = value.decode("utf-8", "backslashreplace"), f"{len(value)} bytes"
    else:
        text, size = value, f"{len(value)} chars"
    cut = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text[:limit])
    return f"{cut}…({size})" if len(text) > limit else cut
