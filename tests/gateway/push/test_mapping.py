"""Payload mappings: files checked at start with field and line; decoding never crashes."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campusedge.contract import EnvelopeError
from campusedge.envelope import parse_message
from campusedge.topics import Channel, DeviceTopic
from gateway.push.mapping import (
    MappingError,
    MappingFileError,
    PushMapping,
    decode,
    load_mappings,
    packaged_dir,
    parse_mapping,
    resolve,
)

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
PACKAGED = load_mappings(packaged_dir())


def test_the_packaged_examples_load() -> None:
    assert set(PACKAGED) == {"vendor_gate_cloud", "vendor_hr_reading"}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("kind: hr_band\nseq:\n  derive: body\nreadings:\n  - pointer: /b\n"
         "    metric: heart_rate\n    unit: degC\n", "readings.0 (line 5)"),
        ("kind: hr_band\nseq:\n  pointer: /s\n  derive: body\nreadings: []\n", "seq (line 2)"),
        ("kind: hr_band\nseq:\n  derive: timestamp\nreadings:\n  - pointer: /b\n"
         "    metric: heart_rate\n    unit: bpm\n", "seq (line 2)"),
        ("kind: temp_gate\nchannel: event\nseq:\n  derive: body\n", "event_type: an event"),
        ("kind: hr_band\nseq:\n  derive: body\nreadings:\n  - pointer: b\n"
         "    metric: heart_rate\n    unit: bpm\n", "readings.0.pointer (line 5)"),
        ("kind: hr_band\nseq:\n  derive: body\nreadings:\n  - pointer: /b\n"
         "    metric: heart_rate\n    unit: bpm\n    scael: 2\n", "readings.0.scael (line 8)"),
        ("kind: hr_band\nseq:\n  derive: body\nreadings:\n  - pointer: /b\n"
         "    metric: heart rate\n    unit: bpm\n", "readings.0.metric (line 6)"),
        ("kind: [\n", "not valid YAML"),
        ("- 1\n", "expected a mapping"),
    ],
)  # fmt: skip
def test_a_bad_mapping_is_refused_naming_its_field_and_line(text: str, where: str) -> None:
    with pytest.raises(MappingFileError) as raised:
        parse_mapping(text, "gate.yaml")
    assert str(raised.value).startswith("gate.yaml: ") and where in str(raised.value)


def test_a_mapping_file_name_is_its_name(tmp_path: Any) -> None:
    (tmp_path / "Bad-Name.yaml").write_text("kind: hr_band\n")
    with pytest.raises(MappingFileError, match="file name is its name"):
        load_mappings(tmp_path)


def test_pointers_follow_rfc_6901() -> None:
    doc = {"a/b": {"m~n": [10, 20]}, "": 1}
    assert resolve(doc, "/a~1b/m~0n/1") == 20
    assert resolve(doc, "/") == 1
    assert resolve(doc, "") is doc
    missing = resolve(doc, "/a~1b/m~0n/01")
    assert missing is resolve(doc, "/nothing") and missing is resolve(doc, "/a~1b/m~0n/2")


def test_scale_offset_and_unix_seconds() -> None:
    mapping = parse_mapping(
        "kind: temp_gate\nseq:\n  pointer: /n\nts:\n  pointer: /at\n  format: unix_s\n"
        "  quality: unsynced\nreadings:\n  - pointer: /f\n    metric: body_temperature\n"
        "    unit: degF\n    scale: 0.5\n    offset: 1\n",
        "x",
    )
    envelope = decode(b'{"n": "42", "at": 1793606400, "f": 195}', mapping, "tg-1", NOW, 65536)
    assert envelope["seq"] == 42 and envelope["time_quality"] == "unsynced"
    assert envelope["ts"] == "2026-11-02T08:00:00+00:00"
    assert envelope["readings"] == [{"metric": "body_temperature", "value": 98.5, "unit": "degF"}]
    # The contract then converts it, as any MQTT reading.
    topic = DeviceTopic("sch1", mapping.kind, "tg-1", Channel.READING)
    msg = parse_message(topic, json.dumps(envelope).encode(), now=NOW + timedelta(days=400))
    assert round(msg.readings[0].value, 2) == 36.94  # type: ignore[union-attr]


def test_no_time_in_the_body_is_the_time_of_receipt_and_a_body_hash_numbers_it() -> None:
    mapping = parse_mapping(
        "kind: hr_band\nseq:\n  derive: body\nreadings:\n  - pointer: /bpm\n"
        "    metric: heart_rate\n    unit: bpm\n",
        "x",
    )
    one = decode(b'{"bpm": 80}', mapping, "hr-1", NOW, 65536)
    again = decode(b'{"bpm": 80}', mapping, "hr-1", NOW + timedelta(seconds=3), 65536)
    other = decode(b'{"bpm": 81}', mapping, "hr-1", NOW, 65536)
    assert one["time_quality"] == "received" and one["ts"] == NOW.isoformat()
    assert one["seq"] == again["seq"] != other["seq"] and 0 <= one["seq"] < 2**63


# --- no input may crash decoding ---------------------------------------------------------------
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["2026-11-02T08:00:00+08:00", "2026-11-02T08:00:00", "1793606400"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["record", "id", "time", "temp_x10", "card_no", "result", "bpm", "t"])
            | st.text(max_size=6),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)
GATE_SHAPED = st.fixed_dictionaries(
    {
        "record": st.fixed_dictionaries(
            {},
            optional={
                "id": JSON | st.integers(min_value=-1, max_value=2**64),
                "time": JSON,
                "temp_x10": JSON,
                "card_no": JSON,
                "result": JSON,
            },
        )
    }
)
HR_SHAPED = st.fixed_dictionaries({}, optional={"bpm": JSON, "t": JSON, "battery": JSON})


def _decoded_or_refused(raw: bytes, mapping: PushMapping) -> None:
    try:
        envelope = decode(raw, mapping, "dev-1", NOW, 65536)
    except MappingError as exc:
        assert exc.reason and exc.detail
        return
    channel = Channel.EVENT if mapping.channel == "event" else Channel.READING
    topic = DeviceTopic("sch1", mapping.kind, "dev-1", channel)
    # What ingest does next: only a contract rejection may come out of it.
    with contextlib.suppress(EnvelopeError):
        parse_message(topic, json.dumps(envelope).encode(), now=NOW)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(PACKAGED)),
    body=st.one_of(
        st.binary(max_size=64),
        JSON.map(lambda v: json.dumps(v).encode()),
        GATE_SHAPED.map(lambda v: json.dumps(v).encode()),
        HR_SHAPED.map(lambda v: json.dumps(v).encode()),
    ),
)
def test_no_body_crashes_decoding(name: str, body: bytes) -> None:
    _decoded_or_refused(body, PACKAGED[name])


def test_a_body_nested_as_deep_as_json_allows_is_refused_not_a_crash() -> None:
    for mapping in PACKAGED.values():
        for depth in (900, 100_000):
            _decoded_or_refused(b"[" * depth + b"]" * depth, mapping)
            _decoded_or_refused(b'{"a":' * depth + b"1" + b"}" * depth, mapping)
