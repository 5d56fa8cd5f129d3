"""A device numbered by a second, fresh buffer (re-imaged box, kit moved, simulator re-run)
is stored by the gateway, not discarded as duplicates of what the first buffer sent."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from campusedge.contract import Reading, TimeQuality
from campusedge.settings import MqttSettings
from campusedge.topics import DeviceKind
from campusedge.units import Metric, Unit
from edge.agent import EdgeAgent
from edge.results import Submitted
from simulators.links import PtyLink
from tests.edge.boxes import write_box
from tests.gateway.mqtt_helpers import wait_until
from tests.gateway.test_ingest import make_gateway

pytestmark = pytest.mark.mosquitto

PER_BOX = 25


def _run_box(folder: Path, school: str, mqtt_settings: MqttSettings, bpm: list[int]) -> None:
    """One edge box with a fresh buffer folder publishes *bpm* for the band `hr-kit-1`."""
    folder.mkdir()
    idle = PtyLink()  # the box needs one device of its own; it stays silent
    box = write_box(
        folder,
        [
            {
                "id": "ropes",
                "model": "jump_rope_ce_rbs2",
                "transport": {"type": "serial", "port": idle.port},
            }
        ],
        school=school,
    )
    agent = EdgeAgent(box, mqtt_settings)
    runner = threading.Thread(target=agent.run, kwargs={"drain_s": 10}, daemon=True)
    runner.start()
    for value in bpm:
        agent.submit(
            Submitted(
                device_id="hr-kit-1",
                kind=DeviceKind.HR_BAND,
                ts=datetime.now(UTC),
                time_quality=TimeQuality.RECEIVED,
                readings=[Reading(metric=Metric.HEART_RATE, value=value, unit=Unit.BPM)],
            )
        )
    wait_until(lambda: agent.stats.acked >= len(bpm), what="the box's messages acknowledged")
    agent.stop_event.set()
    runner.join(30)
    assert not runner.is_alive()


def test_a_device_on_a_fresh_buffer_is_stored_not_discarded(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    school = "s" + uuid.uuid4().hex[:8]
    gateway = make_gateway(tmp_path, mqtt_settings, school)
    gateway.start()
    try:
        assert gateway.ingest.connected.wait(10)
        first = list(range(100, 100 + PER_BOX))
        _run_box(tmp_path / "box-before", school, mqtt_settings, first)
        wait_until(lambda: gateway.ingest.stats["stored"] == PER_BOX, what="the first box")
        # The same band on a re-imaged box: same edge id, a new, empty buffer.
        second = list(range(150, 150 + PER_BOX))
        _run_box(tmp_path / "box-after", school, mqtt_settings, second)
        wait_until(
            lambda: gateway.ingest.stats["stored"] == 2 * PER_BOX,
            what="the second box's messages stored",
        )
        assert gateway.ingest.stats["duplicates"] == 0
        rows = gateway.store.readings(device_id="hr-kit-1", metric="heart_rate", limit=1000)
        assert sorted(r.value for r in rows) == [float(v) for v in first + second]
        assert gateway.store.duplicate_keys() == 0
    finally:
        gateway.stop()
