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
from campusedge.topics import DeviceTopic, cmd_topic
from campusedge.units import Metric
from edge.agent import EdgeAgent
from edge.pe.synthetic import write_jacks_clip
from edge.results import Submitted
from edge.station_runner import StationRunner
from tests.edge.boxes import write_box
from tests.edge.collector import Collector

pytestmark = pytest.mark.mosquitto
JACKS = 3


def _camera(dev_id: str, source: str) -> dict[str, object]:
    return {
        "id": dev_id,
        "model": "pe_station_usb_cam",
        "transport": {"type": "camera"},
        "config": {
            "source": source,
            "exercise": "jumping_jack",
            "max_fps": 30,
            "live_interval_s": 0.5,
            "set_idle_s": 3.0,
        },
    }


def test_a_station_publishes_counts_and_sets_with_seq_time_and_model(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    clip = tmp_path / "jacks.avi"
    write_jacks_clip(clip, width=640, height=360, reps=JACKS, rep_s=1.2)
    school = "school-station"
    col = Collector(mqtt_settings, [f"campus/{school}/#"], client_id="c-station").start()
    assert col.wait_for(lambda ms: col._client.is_connected(), 5)
    box = write_box(
        tmp_path,
        [
            _camera("pe-cam", f"file:{clip}"),
            _camera("pe-broken", f"file:{tmp_path / 'missing.avi'}"),
        ],
        school=school,
    )
    agent = EdgeAgent(box, mqtt_settings)
    runner = threading.Thread(target=agent.run, kwargs={"drain_s": 10}, daemon=True)
    runner.start()
    assert col.wait_for(lambda ms: any(t.endswith("pe-cam/event") for t, _, _ in ms), 120)
    assert col.wait_for(
        lambda ms: any(t.endswith("pe-broken/status") and b"missing.avi" in p for t, p, _ in ms), 10
    )
    agent.stop_event.set()
    runner.join(30)
    assert not runner.is_alive()
    col.stop()

    now = datetime.now(UTC)
    msgs = [
        parse_message(DeviceTopic.parse(t), p, now=now)
        for t, p, _ in col.snapshot()
        if "/pe-cam/" in t and not t.endswith("/status")
    ]
    seqs = [m.seq for m in msgs]  # type: ignore[union-attr]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # consecutive from a fresh start
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
    statuses = {
        Status.model_validate_json(p).device_id: Status.model_validate_json(p)
        for _, p, retained in late.snapshot()
        if retained
    }
    sidecar = json.loads((models_dir() / "pose_landmark_full.json").read_text())
    pose = sidecar["sha256"][:12]
    assert statuses["pe-cam"].model_versions == {"pose": pose}
    assert statuses["test-box"].model_versions == {"pose": pose}
    # The last statuses say the box was stopped on purpose: offline, but no fault to page on.
    assert all(s.state == "offline" and s.stopped for s in statuses.values())
    # The camera that cannot open is reported, and the box ran on.
    broken = [
        Status.model_validate_json(p)
        for t, p, _ in col.snapshot()
        if t.endswith("pe-broken/status")
    ]
    assert all(s.state == "offline" for s in broken)
    assert any("missing.avi does not exist" in (s.detail or "") for s in broken)
    assert agent.stations["pe-broken"].opens == 0
    assert agent.stations["pe-cam"].done and agent.stats.buffered == 0


def _runner_for(tmp_path: Path, clip: Path) -> tuple[StationRunner, list[Submitted]]:
    box = write_box(tmp_path, [_camera("pe-cam", f"file:{clip}")])
    got: list[Submitted] = []
    halt = threading.Event()
    runner = StationRunner(box.devices[0], lambda item, _timeout: got.append(item) or True, halt)
    return runner, got


def _sets(got: list[Submitted]) -> list[dict[str, object]]:
    return [
        {**s.event.attributes, "count": s.event.readings[0].value}
        for s in got
        if s.event is not None
    ]


def test_a_new_config_finishes_the_set_and_counts_on_without_reopening(tmp_path: Path) -> None:
    clip = tmp_path / "jacks.avi"
    write_jacks_clip(clip, width=640, height=360, reps=6, rep_s=1.2)
    runner, got = _runner_for(tmp_path, clip)
    timed = runner.config.model_copy(update={"duration_s": 30})
    submit = runner._submit

    def submit_and_switch(item: Submitted, timeout: float) -> bool:
        # The config arrives while the first set is being counted (after its first count).
        if item.readings and runner.config.duration_s is None and runner._pending is None:
            runner.reconfigure(timed)
        return submit(item, timeout)

    runner._submit = submit_and_switch
    runner.start()
    runner.join(120)
    assert runner.done and not runner.is_alive()
    sets = _sets(got)
    assert len(sets) == 2, sets
    first, second = sets
    # The set in progress was finished under the old settings, the next counted with the new.
    assert "duration_s" not in first and second["duration_s"] == 30
    assert first["exercise"] == second["exercise"] == "jumping_jack"
    assert int(first["count"]) >= 1  # type: ignore[call-overload]
    # At most the rep in motion at the switch is lost between the two sets.
    assert 5 <= int(first["count"]) + int(second["count"]) <= 6  # type: ignore[call-overload]
    assert runner.opens == 1 and runner.config.duration_s == 30


def test_a_new_camera_source_reopens_the_camera(tmp_path: Path) -> None:
    first_clip, second_clip = tmp_path / "a.avi", tmp_path / "b.avi"
    write_jacks_clip(first_clip, width=640, height=360, reps=3, rep_s=1.2)
    write_jacks_clip(second_clip, width=640, height=360, reps=2, rep_s=1.2)
    runner, got = _runner_for(tmp_path, first_clip)
    other = runner.config.model_copy(update={"source": f"file:{second_clip}"})
    submit = runner._submit

    def submit_and_switch(item: Submitted, timeout: float) -> bool:
        if item.readings and runner.config.source != other.source and runner._pending is None:
            runner.reconfigure(other)
        return submit(item, timeout)

    runner._submit = submit_and_switch
    runner.start()
    runner.join(120)
    assert runner.done and runner.opens == 2
    counts = [int(s["count"]) for s in _sets(got)]  # type: ignore[call-overload]
    assert len(counts) == 2 and counts[1] == 2, counts


def test_a_station_config_without_an_exercise_or_model_is_refused(tmp_path: Path) -> None:
    runner, _ = _runner_for(tmp_path, tmp_path / "unused.avi")
    with pytest.raises(ValueError, match="must name the exercise"):
        runner.reconfigure(runner.config.model_copy(update={"exercise": None}))
    with pytest.raises(ValueError, match=r"no pose model 'nope\.onnx'"):
        runner.reconfigure(runner.config.model_copy(update={"model_file": "nope.onnx"}))
    assert runner._pending is None


def test_the_box_config_command_reaches_a_station(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    clip = tmp_path / "jacks.avi"
    write_jacks_clip(clip, width=640, height=360, reps=2, rep_s=1.2)
    school = "school-station-cmd"
    col = Collector(
        mqtt_settings, [f"campus/{school}/edge/+/status"], client_id="c-station-cmd"
    ).start()
    box = write_box(tmp_path, [_camera("pe-cam", f"file:{clip}")], school=school)
    agent = EdgeAgent(box, mqtt_settings)
    thread = threading.Thread(target=agent.run, kwargs={"drain_s": 5}, daemon=True)
    thread.start()

    def detail(ms: list[tuple[str, bytes, bool]]) -> str:
        return (Status.model_validate_json(ms[-1][1]).detail or "") if ms else ""

    assert col.wait_for(lambda ms: bool(ms), 10)
    topic = cmd_topic(school, "test-box")
    col.publish(topic, b'{"config_version": "2", "devices": {"pe-cam": {"model_file": "x.onnx"}}}')
    assert col.wait_for(lambda ms: "no pose model 'x.onnx'" in detail(ms), 10)
    col.publish(topic, b'{"config_version": "3", "devices": {"pe-cam": {"exercise": "squat"}}}')
    assert col.wait_for(lambda ms: "config 3 applied to pe-cam" in detail(ms), 10)
    station = agent.stations["pe-cam"]
    # Taken at the next frame, or still waiting for one if the clip had already ended.
    assert (station._pending or station.config).exercise == "squat"
    agent.stop_event.set()
    thread.join(30)
    col.stop()


def test_a_new_thread_count_reloads_the_model_without_reopening(tmp_path: Path) -> None:
    clip = tmp_path / "jacks.avi"
    write_jacks_clip(clip, width=640, height=360, reps=4, rep_s=1.2)
    runner, got = _runner_for(tmp_path, clip)
    two = runner.config.model_copy(update={"threads": 2})
    submit = runner._submit

    def submit_and_switch(item: Submitted, timeout: float) -> bool:
        if item.readings and runner.latest_config().threads == 1:
            runner.reconfigure(two)
        return submit(item, timeout)

    runner._submit = submit_and_switch
    runner.start()
    runner.join(120)
    assert runner.done and runner.opens == 1  # the file was not started again
    assert runner._model is not None and runner._model.threads == 2
    assert sum(int(s["count"]) for s in _sets(got)) in (3, 4)  # type: ignore[call-overload]


def test_a_station_that_loaded_another_model_reports_its_version(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    box = write_box(tmp_path, [_camera("pe-cam", f"file:{tmp_path / 'unused.avi'}")])
    agent = EdgeAgent(box, mqtt_settings)
    dev = agent._devices["pe-cam"]
    first = dev.model_versions["pose"]
    assert not agent._refresh_model_version("pe-cam", dev)
    agent.stations["pe-cam"].model_version = "0123456789ab"  # as _load_model sets it
    assert agent._refresh_model_version("pe-cam", dev)
    assert dev.model_versions["pose"] == agent.model_versions["pose"] == "0123456789ab" != first
    agent.buffer.close()
