"""Rules take whatever a device sends within the contract: odd attributes never break them."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campusedge.contract import TimeQuality
from campusedge.topics import DeviceKind
from gateway.alerts.model import Rule
from gateway.store.base import StoredMessage
from tests.gateway.alerts.scenario import MORNING, World, batch, build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("alerts-fuzz"))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["card-c1s01", "wrist", "forehead"]),
)
metrics = st.sampled_from(
    [
        "body_temperature",
        "ambient_temperature",
        "heart_rate",
        "battery",
        "clock_offset",
        "acuity_uncorrected_left",
        "sphere_right",
        "spherical_equivalent_left",
        "cylinder_right",
    ]
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(list(DeviceKind)),
    event=st.sampled_from([None, "gate_pass", "vision_screening", "other"]),
    readings=st.lists(st.tuples(metrics, st.floats(-50, 300, allow_nan=False)), max_size=6),
    attributes=st.dictionaries(
        st.sampled_from(["card_id", "site", "decision", "x"]), scalars, max_size=4
    ),
    seq=st.integers(0, 2**40),
)
def test_any_message_is_judged_or_ignored(
    world: World,
    kind: DeviceKind,
    event: str | None,
    readings: list[tuple[str, float]],
    attributes: dict[str, object],
    seq: int,
) -> None:
    msg = StoredMessage(
        school="sch1",
        kind=kind,
        device_id="fuzz-1",
        seq=seq,
        ts=MORNING,
        time_quality=TimeQuality.SYNCED,
        received_at=MORNING,
        readings=tuple((m, v, "x") for m, v in readings),
        event_type=event,
        attributes=tuple(sorted(attributes.items())),
    )  # type: ignore[arg-type]
    world.feed(batch(msg))
    for alert in world.engine.lifecycle.find(limit=5):
        assert alert.rule in set(Rule)
