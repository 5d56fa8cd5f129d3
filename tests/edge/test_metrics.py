"""The edge agent's Prometheus /metrics: off unless the box config sets a port, then served."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import httpx
from prometheus_client.parser import text_string_to_metric_families

from campusedge.broker import free_port
from campusedge.settings import MqttSettings
from edge.agent import EdgeAgent
from simulators.links import PtyLink
from simulators.temp_gate import Gate
from tests.edge.boxes import write_box

NO_BROKER = MqttSettings(host="127.0.0.1", port=free_port())


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_are_off_by_default(tmp_path: Path) -> None:
    gate = PtyLink()
    box = write_box(
        tmp_path,
        [
            {
                "id": "gate",
                "model": "temp_gate_ce_tg100",
                "transport": {"type": "serial", "port": gate.port},
            }
        ],
    )
    assert box.box.metrics_port is None
    agent = EdgeAgent(box, NO_BROKER)
    try:
        # No collector, so no server is ever started: nothing to bind on a shared box.
        assert agent.metrics is None and agent.metrics_port is None
    finally:
        agent.buffer.close()
        gate.close()


def test_metrics_are_served_on_the_configured_port(tmp_path: Path) -> None:
    gate = PtyLink()
    port = free_port()
    box = write_box(
        tmp_path,
        [
            {
                "id": "gate",
                "model": "temp_gate_ce_tg100",
                "transport": {"type": "serial", "port": gate.port},
            }
        ],
        metrics_port=port,
    )
    agent = EdgeAgent(box, NO_BROKER)
    run = threading.Thread(target=agent.run, kwargs={"duration_s": 8, "drain_s": 0}, daemon=True)
    run.start()
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline = time.monotonic() + 5
        while not agent.runners["gate"].online and time.monotonic() < deadline:
            time.sleep(0.02)
        sim = Gate(random.Random(1))
        for i in range(3):
            line = sim.passing(i, datetime.now(UTC), fever=False)
            gate.write(line.replace(b"P*", b"D*") if i == 2 else line)  # i == 2: bad checksum
        deadline = time.monotonic() + 6
        got: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        while time.monotonic() < deadline:
            try:
                got = _samples(httpx.get(url, timeout=1).text)
            except httpx.TransportError:
                got = {}
            errors = got.get(("campusedge_edge_decode_errors_total", (("device", "gate"),)))
            if got.get(("campusedge_edge_buffer_messages", ())) == 2 and errors == 1:
                break
            time.sleep(0.2)
    finally:
        agent.stop_event.set()
        run.join(15)
        gate.close()
    assert got[("campusedge_edge_buffer_messages", ())] == 2, got  # no broker: both kept
    assert got[("campusedge_edge_buffer_bytes", ())] > 100
    assert 0 <= got[("campusedge_edge_buffer_oldest_age_seconds", ())] < 30
    assert got[("campusedge_edge_mqtt_connected", ())] == 0
    assert got[("campusedge_edge_mqtt_connects_total", ())] == 0
    assert got[("campusedge_edge_published_total", ())] == 0
    assert got[("campusedge_edge_decode_errors_total", (("device", "gate"),))] == 1
    assert got[("campusedge_edge_corrupted_frames_total", (("device", "gate"),))] == 0
    seen = got[("campusedge_edge_device_last_seen_timestamp_seconds", (("device", "gate"),))]
    assert abs(seen - time.time()) < 30
    # Stopped with the agent: nothing listens on the port any more.
    assert not run.is_alive()
    try:
        httpx.get(url, timeout=0.5)
    except httpx.TransportError:
        pass
    else:
        raise AssertionError("metrics still served after the agent stopped")


def test_pe_fps_is_the_frames_a_station_took_over_the_interval(tmp_path: Path) -> None:
    gate = PtyLink()
    box = write_box(
        tmp_path,
        [
            {
                "id": "gate",
                "model": "temp_gate_ce_tg100",
                "transport": {"type": "serial", "port": gate.port},
            }
        ],
        metrics_port=free_port(),
    )
    agent = EdgeAgent(box, NO_BROKER)
    try:
        # Only the frame counter of a station is read; a real one needs a camera and a model.
        station = SimpleNamespace(frames=100)
        agent.stations["cam-1"] = station  # type: ignore[assignment]
        assert agent._snapshot().pe_fps == {}  # first look: no interval yet
        time.sleep(0.2)
        station.frames = 106
        fps = agent._snapshot().pe_fps["cam-1"]
        assert 10 <= fps <= 30, fps
    finally:
        agent.buffer.close()
        gate.close()
