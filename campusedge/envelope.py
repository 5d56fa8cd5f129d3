"""Parsing of MQTT payloads into contract messages, with a reason tag for every rejection."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from campusedge.contract import (
    MAX_PAYLOAD_BYTES,
    SUPPORTED_SCHEMA_VERSIONS,
    EnvelopeError,
    EventMessage,
    Message,
    Reading,
    ReadingMessage,
    Status,
    check_event,
    check_not_future,
)
from campusedge.topics import Channel, DeviceTopic
from campusedge.units import METRICS, UnitError, VendorMetric, normalize

_MODELS: dict[Channel, type[ReadingMessage | EventMessage | Status]] = {
    Channel.READING: ReadingMessage,
    Channel.EVENT: EventMessage,
    Channel.STATUS: Status,
}


def _reject_constant(name: str) -> Any:
    raise EnvelopeError("non_finite", f"JSON constant {name} is not allowed")


def load_json(payload: bytes, max_bytes: int = MAX_PAYLOAD_BYTES) -> dict[str, Any]:
    """Decode a payload into a JSON object, rejecting oversize, non-UTF-8, NaN and non-objects."""
    if len(payload) > max_bytes:
        raise EnvelopeError("too_large", f"payload of {len(payload)} bytes exceeds {max_bytes}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EnvelopeError("not_json", f"payload is not UTF-8 ({exc.reason})") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except EnvelopeError:
        raise
    except (json.JSONDecodeError, RecursionError) as exc:
        raise EnvelopeError("not_json", f"payload is not JSON: {exc}") from None
    except ValueError as exc:  # JSON, but a number Python will not read (over 4300 digits)
        raise EnvelopeError(
            "invalid", f"payload holds a number that cannot be read: {exc}"
        ) from None
    if not isinstance(data, dict):
        raise EnvelopeError("invalid", f"payload is a JSON {type(data).__name__}, not an object")
    # Without `v` a payload is version 1 (the schema's default), so what is wrong with it is
    # told by the schema (`invalid`, naming the field), not blamed on a version it never gave.
    if "v" in data:
        version = data["v"]
        # type() and not isinstance(): JSON true must not pass as version 1.
        if type(version) is not int or version not in SUPPORTED_SCHEMA_VERSIONS:
            raise EnvelopeError(
                "unsupported_version",
                f"schema version {version!r} is not one of {sorted(SUPPORTED_SCHEMA_VERSIONS)}",
            )
    return data


def _validation_reason(exc: ValidationError) -> EnvelopeError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "payload"
    return EnvelopeError("invalid", f"{where}: {first['msg']}")


def _normalized(readings: list[Reading]) -> list[Reading]:
    if all(_canonical(r) for r in readings):
        return readings  # the common case: nothing to convert, no copies
    out: list[Reading] = []
    for r in readings:
        try:
            value, unit = normalize(r.metric, float(r.value), r.unit)
        except UnitError as exc:
            raise EnvelopeError("out_of_range", str(exc)) from None
        out.append(Reading(metric=r.metric, value=value, unit=unit))
    return out


def _canonical(r: Reading) -> bool:
    if isinstance(r.metric, VendorMetric):
        return True  # a plug-in's vendor.metric: kept as sent (see units.normalize)
    spec = METRICS[r.metric]
    return r.unit is spec.unit and spec.minimum <= r.value <= spec.maximum


def _validate(
    model: type[ReadingMessage | EventMessage | Status], payload: bytes, max_bytes: int
) -> ReadingMessage | EventMessage | Status:
    if len(payload) > max_bytes:
        raise EnvelopeError("too_large", f"payload of {len(payload)} bytes exceeds {max_bytes}")
    try:
        # Fast path: pydantic's own JSON parser validates a good payload in one pass.
        return model.model_validate_json(payload)
    except ValidationError:
        pass
    # Slow path, for bad input only: find out exactly why, with a reason tag.
    data = load_json(payload, max_bytes)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _validation_reason(exc) from None


def parse_message(
    topic: DeviceTopic,
    payload: bytes,
    *,
    now: datetime,
    future_tolerance: timedelta = timedelta(minutes=5),
    max_bytes: int = MAX_PAYLOAD_BYTES,
) -> Message | Status:
    """Parse and normalize one payload received on *topic*; raise EnvelopeError if invalid.

    Readings come back in their metric's canonical unit, so everything downstream sees one unit
    per metric.
    """
    msg = _validate(_MODELS[topic.channel], payload, max_bytes)
    if msg.device_id != topic.device_id or msg.kind != topic.kind:
        raise EnvelopeError(
            "topic_mismatch",
            f"payload is for {msg.kind.value}/{msg.device_id}, topic for "
            f"{topic.kind.value}/{topic.device_id}",
        )
    if isinstance(msg, Status):
        return msg
    check_not_future(msg.ts, now, future_tolerance)
    if isinstance(msg, ReadingMessage):
        readings = _normalized(msg.readings)
        return msg if readings is msg.readings else msg.model_copy(update={"readings": readings})
    check_event(msg.kind, msg.event)
    readings = _normalized(msg.event.readings)
    if readings is msg.event.readings:
        return msg
    return msg.model_copy(update={"event": msg.event.model_copy(update={"readings": readings})})
