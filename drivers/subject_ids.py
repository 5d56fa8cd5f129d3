"""Gate and screener subject ids written as the devices send them (their hex in capitals)."""

from __future__ import annotations

from drivers import temp_gate, vision_screener


def as_sent(subject_id: str) -> str:
    """*subject_id* in capitals when that makes it a gate's or a screener's id (a spreadsheet
    may have written the hex in lower case); any other id unchanged."""
    upper = subject_id.upper()
    if upper != subject_id and (
        temp_gate.SUBJECT.fullmatch(upper) or vision_screener.SUBJECT.fullmatch(upper)
    ):
        return upper
    return subject_id
