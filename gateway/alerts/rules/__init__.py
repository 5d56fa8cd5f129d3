"""Alert rules, one module per family: fever, heart rate, devices, warning level."""

from __future__ import annotations

from gateway.alerts.lookup import RosterLookup
from gateway.roster import Student
from gateway.store.base import StoredMessage


def reading(msg: StoredMessage, metric: str) -> float | None:
    """The value of *metric* in a stored message, if it carries one."""
    for name, value, _unit in msg.readings:
        if name == metric:
            return value
    return None


def attribute(msg: StoredMessage, name: str) -> object:
    for key, value in msg.attributes:
        if key == name:
            return value
    return None


def subject_of(msg: StoredMessage) -> str | None:
    """The pseudonymous subject a gate or screener names: `subject_id` as the drivers send it
    (a card `C-…`, a face template `F-…`, a class-list id `S-…`), or an older `card_id`."""
    for name in ("subject_id", "card_id"):
        value = attribute(msg, name)
        if isinstance(value, str) and value:
            return value
    return None


def identify(subject: str, lookup: RosterLookup) -> Student | None:
    """The student behind a subject: an enrolled card or face id, else a roster student id."""
    return lookup.student_for_card(subject) or lookup.student(subject)
