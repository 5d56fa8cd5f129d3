"""The common case of validation, cheaper and importable by the MQTT process: a valid reading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from campusedge.contract import ReadingMessage
from campusedge.topics import DeviceTopic, TopicError
from campusedge.units import METRICS, UnitError, VendorMetric, normalize
from gateway.store.base import StoredMessage


def fast_reading(
    topic_text: str,
    payload: bytes,
    received_at: float,
    *,
    max_payload_bytes: int,
    future_tolerance_s: float,
) -> StoredMessage | None:
    """A valid reading in canonical or convertible units, as it is stored (unbound).

    Returns None for anything else (statuses, events, any doubt, any rejection); the full
    classification in `gateway.ingest` then decides, so every rejection keeps its exact
    reason. For what it accepts it makes the same checks as `parse_message` (size, schema,
    topic match, clock, unit and range) but builds the stored tuples directly instead of
    copying pydantic models.
    """
    if not topic_text.endswith("/reading") or len(payload) > max_payload_bytes:
        return None
    try:
        topic = DeviceTopic.parse(topic_text)
        msg = ReadingMessage.model_validate_json(payload)
    except (TopicError, ValidationError):
        return None
    if msg.device_id != topic.device_id or msg.kind is not topic.kind:
        return None
    received = datetime.fromtimestamp(received_at, UTC)
    if msg.ts > received + timedelta(seconds=future_tolerance_s):
        return None
    readings = []
    for r in msg.readings:
        if isinstance(r.metric, VendorMetric):
            return None  # a plug-in's vendor.metric: the full classification takes it
        spec = METRICS[r.metric]
        value, unit = float(r.value), r.unit
        if unit is not spec.unit or not spec.minimum <= value <= spec.maximum:
            try:
                value, unit = normalize(r.metric, value, unit)
            except UnitError:
                return None
        readings.append((r.metric.value, value, unit.value))
    return StoredMessage(
        school=topic.school,
        kind=msg.kind,
        device_id=msg.device_id,
        seq=msg.seq,
        ts=msg.ts,
        time_quality=msg.time_quality,
        received_at=received,
        readings=tuple(readings),
    )
