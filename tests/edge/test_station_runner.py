"""A pe_station device on a box: the agent counts a drawn clip and publishes through Mosquitto."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from campusedge.contract import EventMessage, ReadingMessage, Status
from campusedge.envelope import parse_message
from campusedge.paths import models_dir
from campusedge.settings import MqttSettings
from campusedge.topics import DeviceTopic
from campusedge.units import Metric
from edge.agent import EdgeAgent
from edge.pe.synthetic import write_jacks_clip
from tests.edge.boxes import write_box
from tests.edge.collector import Collector

pytestmark = pytest.mark.mosquitto
JACKS = 3


def _camera(dev_id: str, source: str) -> dict[str, object]:
    return {"id": dev_id, "model": "pe_station_usb_cam", "transport": {"type": "camera"},
            "config": {"source": source, "exercise": "jumping_jack", "max_fps": 30,
                       "live_interval_s": 0.5, "set_idle_s": 3.0}}


def test_a_station_publishes_counts_and_sets_with_seq_time_and_model(
        tmp_path: Path, mqtt_settings: MqttSettings) -> None:
    clip = tmp_path / "jacks.avi"
    write_jacks_clip(clip, width=640, height=360, reps=JACKS, rep_s=1.2)
    school = "school-station"
    col = Collector(mqtt_settings, [f"campus/{school}/#"], client_id="c-station").start()
    assert col.wait_for(lambda ms: col._client.is_connected(), 5)
    box = write_box(tmp_path, [_camera("pe-cam", f"file:{clip}"),
                               _camera("pe-broken", f"file:{tmp_path / 'missing.avi'}")],
                    school=school)
    agent = EdgeAgent(box, mqtt_settings)
    runner = threading.Thread(target=agent.run, kwargs={"drain_s": 10}, daemon=True)
    runner.start()
    assert col.wait_for(lambda ms: any(t.endswith("pe-cam/event") for t, _, _ in ms), 120)
    assert col.wait_for(lambda ms: any(t.endswith("pe-broken/status") and b"missing.avi" in p
                                       for t, p, _ in ms), 10)
    agent.stop_event.set()
    runner.join(30)
    assert not runner.is_alive()
    col.stop()

    now = datetime.now(UTC)
    msgs = [parse_message(DeviceTopic.parse(t), p, now=now) for t, p, _ in col.snapshot()
            if "/pe-cam/" in t and not t.endswith("/status")]
    assert [m.seq for m in msgs] == list(range(len(msgs)))  # type: ignore[union-attr]
    readings = [m for m in msgs if isinstance(m, ReadingMessage)]
    events = [m for m in msgs if isinstance(m, EventMessage)]
    counts = [r.value for m in readings for r in m.readings if r.metric is Metric.REP_COUNT]
    assert counts and counts == sorted(counts) and counts[-1] == JACKS
    assert len(events) == 1
    event = events[0].event
    assert event.type == "pe_set" and event.attributes["exercise"] == "jumping_jack"
    assert {r.metric: r.value for r in event.readings}[Metric.REP_COUNT] == JACKS
    # A file is stamped from its own frame times: an estimate, not the box's receive time.
    assert all(m.time_quality == "estimated" for m in msgs)  # type: ignore[union-attr]
    assert all(m.kind == "pe_station" for m in msgs)  # type: ignore[union-attr]

    # The statuses are retained: a client subscribing after the run still gets them.
    late = Collector(mqtt_settings, [f"campus/{school}/+/+/status"], client_id="c-late").start()
    assert late.wait_for(lambda ms: len(ms) >= 3, 10)
    late.stop()
    statuses = {Status.model_validate_json(p).device_id: Status.model_validate_json(p)
                for _, p, retained in late.snapshot() if retained}
    sidecar = json.loads((models_dir() / "pose_landmark_full.json").read_text())
    pose = sidecar["sha256"][:12]
    assert statuses["pe-cam"].model_versions == {"pose": pose}
    assert statuses["test-box"].model_versions == {"pose": pose}
    # The camera that cannot open is reported, and the box ran on.
    broken = [Status.model_validate_json(p) for t, p, _ in col.snapshot()
              if t.endswith("pe-broken/status")]
    assert all(s.state == "offline" for s in broken)
    assert any("missing.avi does not exist" in (s.detail or "") for s in broken)
    assert agent.stations["pe-broken"].opens == 0
    assert agent.stations["pe-cam"].done and agent.stats.buffered == 0
