"""Alert rules, one module per family: fever, heart rate, vision, devices, warning level."""

from __future__ import annotations

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
