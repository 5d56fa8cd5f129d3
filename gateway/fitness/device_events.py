"""Which device events are fitness test results, and for which item (pure, no I/O).

- `rope_result` (smart rope), mode `countdown_time` with `set_value` 60 s (the attribute names
  of drivers/jump_rope.py): rope_skip_1min, from the rope_count reading;
- `pe_set` (camera station), exercise `rope_skip` or `sit_up` in a 60 s set: rope_skip_1min or
  sit_up_1min, from rep_count;
- `pe_set`, exercise `pull_up` (untimed): pull_up, from rep_count;
- `run_time` (timing device), attribute `item` naming a timed run (run_50m, run_800m,
  run_1000m, shuttle_50x8): that item, from the run_time reading in seconds.

A camera set counts as a one-minute test when it says so: attribute `duration_s` = 60, or
`mode` = `countdown_time` with `set_value` = 60. Anything else (free skipping, a 30 s set, a
push-up set) is practice, not a test item, and is not recorded as a result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from gateway.store.base import Scalar, StoredMessage

ONE_MINUTE_S: Final = 60
TIMED_RUNS: Final = frozenset({"run_50m", "run_800m", "run_1000m", "shuttle_50x8"})
_CAMERA_ONE_MINUTE: Final = {"rope_skip": "rope_skip_1min", "sit_up": "sit_up_1min"}
RESULT_EVENTS: Final = frozenset({"rope_result", "pe_set", "run_time"})


@dataclass(frozen=True)
class DeviceResult:
    """A test item and its value as the device reported it (canonical units)."""

    item: str
    value: float


class NotATestResult(ValueError):
    """A result event that is not a test item; `reason` is a short tag for metrics."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _reading(message: StoredMessage, metric: str) -> float:
    for name, value, _unit in message.readings:
        if name == metric:
            return value
    raise NotATestResult("missing_reading", f"{message.event_type} event without {metric}")


def _is_number(value: Scalar, wanted: int) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == wanted


def _one_minute(attrs: dict[str, Scalar]) -> bool:
    if _is_number(attrs.get("duration_s"), ONE_MINUTE_S):
        return True
    return attrs.get("mode") == "countdown_time" and _is_number(
        attrs.get("set_value"), ONE_MINUTE_S
    )


def result_of_event(message: StoredMessage) -> DeviceResult:
    """The test item an event stands for, or NotATestResult saying why it is none."""
    attrs = dict(message.attributes)
    kind = message.event_type
    if kind == "rope_result":
        if attrs.get("mode") != "countdown_time" or not _is_number(
            attrs.get("set_value"), ONE_MINUTE_S
        ):
            raise NotATestResult("not_a_test_item", "rope result is not a 60 s countdown")
        return DeviceResult("rope_skip_1min", _reading(message, "rope_count"))
    if kind == "pe_set":
        exercise = attrs.get("exercise")
        quality = attrs.get("quality")
        if isinstance(quality, str) and quality:
            # The camera could not count this set reliably (person lost, body parts out of
            # frame): a low count must not become a student's test result.
            raise NotATestResult(
                "not_a_measurement", f"pe_set {exercise!r} counted with quality {quality}"
            )
        if exercise == "pull_up":
            return DeviceResult("pull_up", _reading(message, "rep_count"))
        if isinstance(exercise, str) and exercise in _CAMERA_ONE_MINUTE and _one_minute(attrs):
            return DeviceResult(_CAMERA_ONE_MINUTE[exercise], _reading(message, "rep_count"))
        raise NotATestResult("not_a_test_item", f"pe_set {exercise!r} is not a test item")
    if kind == "run_time":
        item = attrs.get("item")
        if not isinstance(item, str) or item not in TIMED_RUNS:
            raise NotATestResult("not_a_test_item", f"run_time for unknown item {item!r}")
        return DeviceResult(item, _reading(message, "run_time"))
    raise NotATestResult("not_a_result_event", f"event type {kind!r}")
