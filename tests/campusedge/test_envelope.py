"""Envelope parsing: every kind of malformed payload gets its reason; fuzzing never crashes it."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campusedge.contract import EnvelopeError, EventMessage, ReadingMessage, Status
from campusedge.envelope import parse_message
from campusedge.topics import DeviceTopic

NOW = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
TOPIC = DeviceTopic.parse("campus/s1/hr_band/hr-1/reading")


def payload(**over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "v": 1,
        "device_id": "hr-1",
        "kind": "hr_band",
        "seq": 1,
        "ts": "2026-09-01T07:59:58Z",
        "time_quality": "synced",
        "readings": [{"metric": "heart_rate", "value": 120, "unit": "bpm"}],
    }
    body.update(over)
    return body


def parse(body: object, topic: DeviceTopic = TOPIC) -> object:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_message(topic, raw, now=NOW)


def test_valid_reading_is_normalized() -> None:
    msg = parse(payload(readings=[{"metric": "rr_interval", "value": 500, "unit": "ms"}]))
    assert isinstance(msg, ReadingMessage)
    assert msg.readings[0].value == 0.5 and msg.readings[0].unit == "s"


def test_vendor_metrics_pass_as_sent_and_malformed_names_are_refused() -> None:
    readings = [
        {"metric": "acme.jump_rate", "value": 152, "unit": "1/min"},
        {"metric": "rr_interval", "value": 500, "unit": "ms"},  # still converted beside it
    ]
    msg = parse(payload(readings=readings))
    assert isinstance(msg, ReadingMessage)
    assert [(r.metric.value, r.value, r.unit.value) for r in msg.readings] == [
        ("acme.jump_rate", 152, "1/min"),
        ("rr_interval", 0.5, "s"),
    ]
    for bad in ("Acme.rate", "acme", "acme.rate.x", "acme.", "a" * 40 + ".rate", "héat.rate"):
        with pytest.raises(EnvelopeError) as info:
            parse(payload(readings=[{"metric": bad, "value": 1, "unit": "count"}]))
        assert info.value.reason == "invalid"
        assert "readings.0.metric: metric is neither a built-in metric nor a vendor" in str(
            info.value
        )
    with pytest.raises(EnvelopeError, match=r"readings\.0\.unit"):
        parse(payload(readings=[{"metric": "acme.rate", "value": 1, "unit": "furlongs"}]))


ROPE_EVENT_TOPIC = DeviceTopic.parse("campus/s1/jump_rope/rope-1/event")


def rope_result(**attributes: object) -> dict[str, object]:
    body = payload(
        device_id="rope-1",
        kind="jump_rope",
        event={
            "type": "rope_result",
            "readings": [{"metric": "rope_count", "value": 150, "unit": "count"}],
            "attributes": {"mode": "countdown_time", "set_value": 60, **attributes},
        },
    )
    del body["readings"]
    return body


def test_event_and_status() -> None:
    event = parse(rope_result(), ROPE_EVENT_TOPIC)
    assert isinstance(event, EventMessage)
    status = parse(
        {"v": 1, "device_id": "hr-1", "kind": "hr_band", "state": "offline"},
        DeviceTopic.parse("campus/s1/hr_band/hr-1/status"),
    )
    assert isinstance(status, Status)


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"not json at all", "not_json"),
        (b"\xff\xfe\x00", "not_json"),
        (b'{"v": 1, "seq": NaN}', "non_finite"),
        (b'{"v": 1, "seq": Infinity}', "non_finite"),
        (b"[1, 2, 3]", "invalid"),
        (json.dumps(payload(v=True)).encode(), "unsupported_version"),
        (json.dumps(payload(v=2)).encode(), "unsupported_version"),
        (json.dumps(payload(v=None)).encode(), "unsupported_version"),
        (json.dumps(payload(v="1")).encode(), "unsupported_version"),
        # No `v` at all is version 1 by default: what is wrong is the schema, not the version.
        (json.dumps({k: v for k, v in payload(seq="one").items() if k != "v"}).encode(), "invalid"),
        (b'{"state": "maybe"}', "invalid"),
        (json.dumps(payload(seq="one")).encode(), "invalid"),
        (json.dumps(payload(seq=-5)).encode(), "invalid"),
        (
            json.dumps(
                payload(readings=[{"metric": "heart_rate", "value": "fast", "unit": "bpm"}])
            ).encode(),
            "invalid",
        ),
        (
            json.dumps(
                payload(readings=[{"metric": "heart_rate", "value": 900, "unit": "bpm"}])
            ).encode(),
            "out_of_range",
        ),
        (
            json.dumps(
                payload(readings=[{"metric": "heart_rate", "value": 90, "unit": "degC"}])
            ).encode(),
            "out_of_range",
        ),
        (json.dumps(payload(ts="2026-09-01T09:00:00Z")).encode(), "future_timestamp"),
        (json.dumps(payload(device_id="hr-2")).encode(), "topic_mismatch"),
        (b"{" + b" " * 70_000 + b"}", "too_large"),
        # Poison payloads that once escaped as ValueError/OverflowError and stalled ingest.
        (b'{"v": 1, "seq": ' + b"7" * 5000 + b"}", "invalid"),
        (json.dumps(payload(ts="0001-01-01T00:00:00+23:59")).encode(), "invalid"),
        (json.dumps(payload(ts="9999-12-31T23:59:59-23:59")).encode(), "invalid"),
        (json.dumps(payload(ts="1900-01-01T00:00:00Z")).encode(), "invalid"),
        (
            json.dumps(
                payload(readings=[{"metric": "heart_rate", "value": 10**400, "unit": "bpm"}])
            ).encode(),
            "invalid",
        ),
        (
            json.dumps(
                payload(readings=[{"metric": "rr_interval", "value": -(10**400), "unit": "ms"}])
            ).encode(),
            "invalid",
        ),
    ],
)
def test_malformed_payloads_are_rejected_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(EnvelopeError) as info:
        parse_message(TOPIC, raw, now=NOW, future_tolerance=timedelta(minutes=5))
    assert info.value.reason == reason
    assert info.value.detail


def test_a_status_without_version_and_fields_is_invalid_naming_a_field() -> None:
    # A retained garbage status once came back as "unsupported_version (schema version None)".
    status_topic = DeviceTopic.parse("campus/s1/hr_band/hr-1/status")
    with pytest.raises(EnvelopeError) as info:
        parse_message(status_topic, b'{"state": "maybe"}', now=NOW)
    assert info.value.reason == "invalid"
    assert "device_id" in info.value.detail and "None" not in info.value.detail


def test_a_valid_payload_without_version_is_version_1() -> None:
    body = payload()
    del body["v"]
    msg = parse(body)
    assert isinstance(msg, ReadingMessage) and msg.v == 1


def test_list_payload_reason_names_the_problem() -> None:
    with pytest.raises(EnvelopeError, match="JSON list, not an object"):
        parse_message(TOPIC, b"[]", now=NOW)


# Integers beyond the float range are valid JSON; they once escaped as OverflowError.
big_integers = st.sampled_from([2**63, -(2**63) - 1, 10**400, -(10**400)])
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | big_integers
    | st.floats(allow_nan=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


CHANNEL_TOPICS = [
    DeviceTopic.parse("campus/s1/hr_band/hr-1/reading"),
    ROPE_EVENT_TOPIC,
    DeviceTopic.parse("campus/s1/hr_band/hr-1/status"),
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CHANNEL_TOPICS), st.binary(max_size=2048))
def test_fuzz_arbitrary_bytes(topic: DeviceTopic, raw: bytes) -> None:
    try:
        parse_message(topic, raw, now=NOW)
    except EnvelopeError as exc:
        assert exc.reason


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*list(payload()), "event", "extra"]), json_values))
def test_fuzz_mutated_envelopes(fields: dict[str, object]) -> None:
    body = payload()
    body.update(fields)
    try:
        parse(body)
    except EnvelopeError as exc:
        assert exc.reason in {
            "invalid",
            "unsupported_version",
            "out_of_range",
            "topic_mismatch",
            "future_timestamp",
            "too_large",
            "non_finite",
            "not_json",
            "unknown_event",
            "bad_attribute",
            "personal_name",
        }


def valid_body(channel: str) -> dict[str, object]:
    if channel == "status":
        return {"v": 1, "device_id": "hr-1", "kind": "hr_band", "state": "online"}
    return rope_result()


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(CHANNEL_TOPICS[1:]),
    st.dictionaries(
        st.sampled_from(
            [
                *list(payload()),
                "event",
                "state",
                "firmware",
                "battery_pct",
                "model_versions",
                "extra",
            ]
        ),
        json_values,
        max_size=3,
    ),
)
def test_fuzz_mutated_events_and_statuses(topic: DeviceTopic, fields: dict[str, object]) -> None:
    body = valid_body(topic.channel.value)
    assert parse(body, topic) is not None  # the unmutated body is valid
    body.update(fields)
    try:
        parse(body, topic)
    except EnvelopeError as exc:
        assert exc.reason in {
            "invalid",
            "unsupported_version",
            "out_of_range",
            "topic_mismatch",
            "future_timestamp",
            "too_large",
            "non_finite",
            "not_json",
            "unknown_event",
            "bad_attribute",
            "personal_name",
        }


offset_times = st.builds(
    lambda when, minutes: when.replace(tzinfo=timezone(timedelta(minutes=minutes))),
    st.datetimes(),
    st.integers(-1439, 1439),
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CHANNEL_TOPICS), offset_times)
def test_fuzz_timestamps_of_any_year_and_offset(topic: DeviceTopic, when: datetime) -> None:
    body = valid_body(topic.channel.value) if topic.channel.value != "reading" else payload()
    body["ts"] = when.isoformat()
    try:
        msg = parse(body, topic)
    except EnvelopeError as exc:
        assert exc.reason in {"invalid", "future_timestamp"}
    else:
        assert isinstance(msg, ReadingMessage | EventMessage | Status) and msg.ts is not None
        assert datetime(1970, 1, 1, tzinfo=UTC) <= msg.ts <= NOW + timedelta(
            minutes=5
        ) or isinstance(msg, Status)


METRIC_UNITS = [
    ("heart_rate", "bpm"),
    ("rr_interval", "ms"),
    ("rr_interval", "s"),
    ("body_temperature", "degF"),
    ("body_temperature", "degC"),
    ("energy_expended", "kcal"),
    ("battery", "%"),
    ("rope_count", "count"),
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(METRIC_UNITS), st.integers() | big_integers | st.floats(allow_nan=False)
        ),
        min_size=1,
        max_size=3,
    )
)
def test_fuzz_reading_values(values: list[tuple[tuple[str, str], object]]) -> None:
    readings = [{"metric": m, "value": v, "unit": u} for (m, u), v in values]
    try:
        msg = parse(payload(readings=readings))
    except EnvelopeError as exc:
        assert exc.reason in {"invalid", "out_of_range", "non_finite"}
    else:
        assert isinstance(msg, ReadingMessage)
        assert all(math.isfinite(r.value) for r in msg.readings)


@pytest.mark.parametrize(
    "change, reason, said",
    [
        ({"student_name": "王小明"}, "personal_name", "names never travel on the wire"),
        ({"Name": "Wang"}, "personal_name", "'Name'"),
        ({"colour": "red"}, "bad_attribute", "no attribute 'colour'"),
        ({"mode": "王小明的跳绳"}, "bad_attribute", "'mode'"),
        ({"set_value": "sixty"}, "bad_attribute", "is not integer"),
        ({"set_value": True}, "bad_attribute", "is not integer"),
    ],
)
def test_event_attributes_follow_the_contract(
    change: dict[str, object], reason: str, said: str
) -> None:
    with pytest.raises(EnvelopeError) as err:
        parse(rope_result(**change), ROPE_EVENT_TOPIC)
    assert err.value.reason == reason
    assert said in err.value.detail


def test_an_event_its_kind_does_not_send_is_refused() -> None:
    body = rope_result()
    body["event"] = {"type": "free_text", "attributes": {"note": "x"}}
    with pytest.raises(EnvelopeError) as err:
        parse(body, ROPE_EVENT_TOPIC)
    assert err.value.reason == "unknown_event"
    assert "rope_command_ack, rope_result" in err.value.detail


def test_every_event_the_drivers_and_stations_make_is_in_the_contract() -> None:
    """What the project's own devices send passes: pattern attributes and nulls included."""
    pe_set = payload(
        device_id="cam-1",
        kind="pe_station",
        event={
            "type": "pe_set",
            "readings": [{"metric": "rep_count", "value": 12, "unit": "count"}],
            "attributes": {
                "exercise": "sit_up",
                "start": "2026-09-01T07:58:00.123456+00:00",
                "end": "2026-09-01T07:59:00+00:00",
                "start_frame": 3,
                "end_frame": None,
                "form_flags": "incomplete_range,shallow",
                "model": "pose_landmark_full.onnx",
                "duration_s": 60,
                "form_shallow": 2,
                "form_incomplete_range": 1,
            },
        },
    )
    del pe_set["readings"]
    assert isinstance(
        parse(pe_set, DeviceTopic.parse("campus/s1/pe_station/cam-1/event")), EventMessage
    )
    pe_set["event"]["attributes"]["form_flags"] = "shallow, 王"  # type: ignore[index]
    with pytest.raises(EnvelopeError, match="form_flags"):
        parse(pe_set, DeviceTopic.parse("campus/s1/pe_station/cam-1/event"))
