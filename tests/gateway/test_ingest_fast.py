"""The ingest fast path for readings agrees with the authoritative classifier on every input."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.ingest import Inbound, IngestSettings, classify, classify_fast
from gateway.store.base import StoredMessage

SETTINGS = IngestSettings()
UNITS = ["bpm", "ms", "s", "degC", "degF", "kJ", "kcal", "count", "%", "furlong"]
METRICS = [
    "heart_rate",
    "rr_interval",
    "body_temperature",
    "energy_expended",
    "battery",
    "rope_count",
    "no_such_metric",
]


def _item(topic: str, body: Any, received_at: float | None = None) -> Inbound:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Inbound(topic, payload, 1, 1, received_at or time.time())


def test_a_valid_reading_takes_the_fast_path_with_units_converted() -> None:
    body = {
        "v": 1,
        "device_id": "hr-1",
        "kind": "hr_band",
        "seq": 7,
        "ts": datetime.now(UTC).isoformat(),
        "time_quality": "synced",
        "readings": [
            {"metric": "heart_rate", "value": 120, "unit": "bpm"},
            {"metric": "rr_interval", "value": 500, "unit": "ms"},
        ],
    }
    item = _item("campus/s1/hr_band/hr-1/reading", body)
    fast = classify_fast(item, SETTINGS)
    assert isinstance(fast, StoredMessage)
    assert fast == classify(item, SETTINGS)
    assert fast.readings == (("heart_rate", 120.0, "bpm"), ("rr_interval", 0.5, "s"))


def test_anything_else_is_left_to_the_classifier() -> None:
    status = {"v": 1, "device_id": "hr-1", "kind": "hr_band", "state": "online"}
    assert classify_fast(_item("campus/s1/hr_band/hr-1/status", status), SETTINGS) is None
    assert classify_fast(_item("campus/s1/hr_band/hr-1/reading", b"{"), SETTINGS) is None
    assert classify_fast(_item("campus/s1/toaster/t-1/reading", b"{}"), SETTINGS) is None


readings = st.lists(
    st.fixed_dictionaries(
        {
            "metric": st.sampled_from(METRICS),
            "value": st.one_of(
                st.integers(-10, 2000),
                st.floats(allow_nan=False, allow_infinity=False),
                st.text(max_size=3),
                st.sampled_from([10**400, -(10**400)]),
            ),
            "unit": st.sampled_from(UNITS),
        }
    ),
    min_size=0,
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(
    device=st.sampled_from(["hr-1", "hr-2", ""]),
    topic_device=st.sampled_from(["hr-1", "hr-2"]),
    kind=st.sampled_from(["hr_band", "temp_gate", "jump_rope"]),
    seq=st.one_of(st.integers(-1, 2**64), st.just("3")),
    ahead_s=st.sampled_from([-3600.0, 0.0, 299.0, 301.0, 86_400.0]),
    extra=st.sampled_from([{}, {"pad": "x"}, {"v": 2}, {"time_quality": "bogus"}]),
    body_readings=readings,
)
def test_fast_path_agrees_with_classify(
    device: str,
    topic_device: str,
    kind: str,
    seq: object,
    ahead_s: float,
    extra: dict[str, object],
    body_readings: list[dict[str, object]],
) -> None:
    now = time.time()
    body: dict[str, object] = {
        "v": 1,
        "device_id": device,
        "kind": kind,
        "seq": seq,
        "ts": (datetime.fromtimestamp(now, UTC) + timedelta(seconds=ahead_s)).isoformat(),
        "time_quality": "synced",
        "readings": body_readings,
        **extra,
    }
    item = _item(f"campus/s1/hr_band/{topic_device}/reading", body, now)
    fast = classify_fast(item, SETTINGS)
    if fast is not None:
        assert fast == classify(item, SETTINGS)


@settings(max_examples=200, deadline=None)
@given(payload=st.binary(max_size=200))
def test_fast_path_never_accepts_what_the_classifier_rejects(payload: bytes) -> None:
    item = _item("campus/s1/hr_band/hr-1/reading", payload)
    fast = classify_fast(item, SETTINGS)
    assert fast is None or fast == classify(item, SETTINGS)
