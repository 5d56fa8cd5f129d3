"""Which device events are test results: the mapping table, and fuzzed attributes."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campusedge.contract import EventMessage, TimeQuality
from campusedge.topics import Channel, DeviceKind, DeviceTopic
from drivers import jump_rope
from gateway.fitness.device_events import DeviceResult, NotATestResult, result_of_event
from gateway.ingest import to_stored
from gateway.store.base import Scalar, StoredMessage
from simulators.jump_rope import BaseStation

TS = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
ROPE = (("rope_count", 150.0, "count"), ("rope_elapsed", 60.0, "s"))
REPS = (("rep_count", 31.0, "count"), ("cadence", 31.0, "1/min"))


def message(
    event_type: str | None, readings: tuple[tuple[str, float, str], ...], **attributes: Scalar
) -> StoredMessage:
    return StoredMessage(
        "sch",
        DeviceKind.PE_STATION,
        "dev-1",
        1,
        TS,
        TimeQuality.SYNCED,
        TS,
        readings,
        event_type,
        tuple(sorted(attributes.items())),
    )


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        (
            message("rope_result", ROPE, mode="countdown_time", set_value=60),
            DeviceResult("rope_skip_1min", 150.0),
        ),
        (
            message("rope_result", ROPE, mode="countdown_time", set_value=60.0),
            DeviceResult("rope_skip_1min", 150.0),
        ),
        (
            message("pe_set", REPS, exercise="sit_up", duration_s=60),
            DeviceResult("sit_up_1min", 31.0),
        ),
        (
            message("pe_set", REPS, exercise="rope_skip", mode="countdown_time", set_value=60),
            DeviceResult("rope_skip_1min", 31.0),
        ),
        (message("pe_set", REPS, exercise="pull_up"), DeviceResult("pull_up", 31.0)),
        (
            message("run_time", (("run_time", 9.6, "s"),), item="run_50m"),
            DeviceResult("run_50m", 9.6),
        ),
        (
            message("run_time", (("run_time", 215.0, "s"),), item="run_1000m"),
            DeviceResult("run_1000m", 215.0),
        ),
    ],
)
def test_results(msg: StoredMessage, expected: DeviceResult) -> None:
    assert result_of_event(msg) == expected


@pytest.mark.parametrize(
    ("msg", "reason"),
    [
        (message("rope_result", ROPE, mode="countdown_time", set_value=30), "not_a_test_item"),
        (message("rope_result", ROPE, mode="countdown_count", set_value=60), "not_a_test_item"),
        (message("rope_result", ROPE, mode="free"), "not_a_test_item"),
        (message("rope_result", ROPE, mode="countdown_time", set_value=True), "not_a_test_item"),
        (message("pe_set", REPS, exercise="sit_up"), "not_a_test_item"),  # untimed set
        (message("pe_set", REPS, exercise="sit_up", duration_s=30), "not_a_test_item"),
        (message("pe_set", REPS, exercise="push_up", duration_s=60), "not_a_test_item"),
        (message("run_time", (("run_time", 9.6, "s"),), item="marathon"), "not_a_test_item"),
        (message("run_time", (("run_time", 9.6, "s"),)), "not_a_test_item"),
        (
            message(
                "rope_result", (("rope_elapsed", 60.0, "s"),), mode="countdown_time", set_value=60
            ),
            "missing_reading",
        ),
        (message("gate_pass", ()), "not_a_result_event"),
        (message(None, ROPE), "not_a_result_event"),
        (
            message("pe_set", REPS, exercise="pull_up", quality="body_parts_hidden"),
            "not_a_measurement",
        ),
    ],
)
def test_not_results(msg: StoredMessage, reason: str) -> None:
    with pytest.raises(NotATestResult) as caught:
        result_of_event(msg)
    assert caught.value.reason == reason


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False),
    st.text("abc_ut", max_size=8),
    st.sampled_from(["countdown_time", "sit_up", "pull_up", "run_50m"]),
)


@given(
    st.sampled_from(["rope_result", "pe_set", "run_time", "other"]),
    st.dictionaries(
        st.sampled_from(["mode", "set_value", "exercise", "duration_s", "item", "quality", "x"]),
        scalars,
        max_size=6,
    ),
    st.lists(
        st.tuples(
            st.sampled_from(["rope_count", "rep_count", "run_time", "cadence"]),
            st.floats(0, 1e5),
            st.just("count"),
        ),
        max_size=4,
    ),
)
def test_any_attributes_give_a_result_or_a_reason(
    event_type: str, attrs: dict[str, Scalar], readings: list[tuple[str, float, str]]
) -> None:
    msg = message(event_type, tuple(readings), **attrs)
    try:
        found = result_of_event(msg)
    except NotATestResult as exc:
        assert exc.reason in {
            "not_a_test_item",
            "missing_reading",
            "not_a_result_event",
            "not_a_measurement",
        }
    else:
        assert found.item in {
            "rope_skip_1min",
            "sit_up_1min",
            "pull_up",
            "run_50m",
            "run_800m",
            "run_1000m",
            "shuttle_50x8",
        }


@pytest.mark.parametrize(
    ("mode", "set_value", "item"),
    [
        (jump_rope.Mode.COUNTDOWN_TIME, 60, "rope_skip_1min"),
        (jump_rope.Mode.COUNTDOWN_TIME, 30, None),
        (jump_rope.Mode.COUNTDOWN_COUNT, 60, None),
    ],
)
def test_a_real_rope_result_through_driver_and_ingest(
    mode: jump_rope.Mode, set_value: int, item: str | None
) -> None:
    """The rope simulator's result frame, decoded by the driver and stored as ingest stores it:
    the mapping must read the attributes the driver actually publishes."""
    station = BaseStation(1, random.Random(5))
    station.start_all(mode, set_value)
    frames = [f for _ in range(int(set_value * 10) + 50) for f in station.step(0.1, False)]
    driver, cfg = jump_rope.JumpRope(), jump_rope.Config()
    events = [d.event for f in frames for d in driver.decode(f, cfg) if d.event is not None]
    [rope_event] = [e for e in events if e.type == "rope_result"]
    wire = EventMessage(
        device_id="rope-1",
        kind=DeviceKind.JUMP_ROPE,
        seq=1,
        ts=TS,
        time_quality=TimeQuality.SYNCED,
        event=rope_event,
    )
    topic = DeviceTopic("sch", DeviceKind.JUMP_ROPE, "rope-1", Channel.EVENT)
    stored = to_stored(topic, wire, TS)
    if item is None:
        with pytest.raises(NotATestResult):
            result_of_event(stored)
        return
    count = next(r.value for r in rope_event.readings if r.metric == "rope_count")
    assert count > 0
    assert result_of_event(stored) == DeviceResult(item, float(count))
