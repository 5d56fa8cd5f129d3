"""The edge agent against a real Mosquitto, with devices on a pty pair and simulated BLE."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from campusedge.broker import MosquittoProcess
from campusedge.contract import EventMessage, ReadingMessage, Status
from campusedge.envelope import parse_message
from campusedge.settings import MqttSettings
from campusedge.topics import DeviceTopic, cmd_topic
from drivers import jump_rope as jr
from edge.agent import EdgeAgent
from simulators.hr_band import Band
from simulators.jump_rope import BaseStation
from simulators.links import PtyLink, StreamServer, ble_record
from simulators.temp_gate import Gate
from tests.conftest import mqtt_settings_for
from tests.edge.boxes import write_box
from tests.edge.collector import Collector

pytestmark = pytest.mark.mosquitto


def _parsed(messages: list[tuple[str, bytes, bool]]) -> list[object]:
    now = datetime.now(UTC)
    return [
        parse_message(DeviceTopic.parse(t), p, now=now)
        for t, p, _ in messages
        if DeviceTopic.parse(t).kind.value != "edge"
    ]


def _start(agent: EdgeAgent, duration_s: float | None = None) -> threading.Thread:
    t = threading.Thread(
        target=agent.run, kwargs={"duration_s": duration_s, "drain_s": 10}, daemon=True
    )
    t.start()
    return t


def test_devices_reach_the_broker_stamped_and_cleaned(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    school = "school-devs"
    col = Collector(mqtt_settings, [f"campus/{school}/#"], client_id="c-devs").start()
    ropes, gate, ble = PtyLink(), PtyLink(), StreamServer()
    box = write_box(
        tmp_path,
        [
            {
                "id": "ropes",
                "model": "jump_rope_ce_rbs2",
                "transport": {"type": "serial", "port": ropes.port},
                "ids": {"1": "rope-01"},
            },
            {
                "id": "gate",
                "model": "temp_gate_ce_tg100",
                "transport": {"type": "serial", "port": gate.port},
            },
            {
                "id": "bands",
                "model": "hr_band_ce_hrb40",
                "transport": {"type": "ble_sim", "port": ble.port},
            },
        ],
        school=school,
    )
    agent = EdgeAgent(box, mqtt_settings)
    started_ms = time.time_ns() // 1_000_000
    runner = _start(agent)
    rng = random.Random(5)
    station = BaseStation(2, rng)
    station.start_all(jr.Mode.COUNTDOWN_TIME, 1, 0)
    skewed_gate = Gate(rng, clock_skew_s=3600)  # an hour fast: must not be trusted
    bands = [Band(i, rng) for i in range(2)]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (
        ble.connected and all(r.online for r in agent.runners.values())
    ):
        time.sleep(0.05)
    time.sleep(0.3)  # pyserial flushes its input right after opening the port
    commands = b""
    for i in range(15):
        frames = station.step(0.1, realtime=False)
        for f in frames:
            ropes.write(f)
        if i == 3:
            ropes.write(frames[0])  # a radio retransmission: same packet counter
            ropes.write(b"\x00\xa5\x10garbage\xa5")
        line = skewed_gate.passing(i, datetime.now(UTC), fever=i == 4)
        gate.write(line.replace(b"P*", b"D*") if i == 7 else line)  # i == 7: bad checksum
        for b in bands:
            ble.write(ble_record(b.address, b.step(0.1, 0.8)))
        commands += ropes.read()
        time.sleep(0.1)
    time.sleep(0.5)
    commands += ropes.read()
    agent.stop_event.set()
    runner.join(30)
    col.wait_for(lambda ms: any(b'"offline"' in p and b'"edge"' in p for _, p, _ in ms), 5)
    col.stop()

    msgs = _parsed([m for m in col.snapshot() if not m[0].endswith("/status")])
    by_device: dict[str, list[ReadingMessage | EventMessage]] = defaultdict(list)
    for m in msgs:
        assert isinstance(m, ReadingMessage | EventMessage)
        by_device[m.device_id].append(m)
    assert {"rope-01", "ropes-2", "gate", "bands-CE5E00000000", "bands-CE5E00000001"} <= set(
        by_device
    )
    for device, items in by_device.items():
        # A fresh buffer numbers each device from the wall clock in ms, then one by one.
        first = items[0].seq
        assert abs(first - started_ms) < 60_000, device
        assert [m.seq for m in items] == list(range(first, first + len(items))), device
    assert agent.stats.duplicate_frames == 1
    assert agent.stats.decode_errors == 1  # the gate line with the wrong checksum
    assert agent.stats.discarded_bytes >= 8 and agent.stats.corrupted_frames >= 1
    assert agent.stats.buffered == 0 and agent.stats.acked == agent.stats.messages
    assert len(by_device["gate"]) == 14
    now = datetime.now(UTC)
    for m in by_device["gate"]:
        # The gate's clock is an hour fast: the agent measured that and stamped estimated time.
        assert m.time_quality == "estimated" and abs(m.ts - now) < timedelta(seconds=30)
    assert all(m.time_quality == "received" for m in by_device["bands-CE5E00000000"])
    assert all(m.time_quality == "estimated" for m in by_device["rope-01"])
    results = [m for m in by_device["rope-01"] if isinstance(m, EventMessage)]
    assert results and results[0].event.type == "rope_result"
    # The agent set the ropes' clock when it opened the base station.
    assert commands.startswith(b"\xa5\x07\x80\xff\xff")
    statuses = [
        Status.model_validate_json(p) for t, p, _ in col.snapshot() if t.endswith("/status")
    ]
    assert any(s.device_id == "rope-01" and s.battery_pct is not None for s in statuses)
    assert statuses[-1].device_id == "test-box" and statuses[-1].state == "offline"
    # Only the gate has a real-time clock: the ropes' base station counts uptime and the
    # bands send no time, so neither has a clock offset to report, in the field or the detail.
    without_rtc = [s for s in statuses if s.kind.value in ("jump_rope", "hr_band")]
    assert {s.kind.value for s in without_rtc} == {"jump_rope", "hr_band"}
    for s in without_rtc:
        assert s.clock_offset_s is None, s
        assert "clock offset" not in (s.detail or ""), s
    # Every device says which box it is reached through (the box's last will is the box's).
    assert {s.edge_id for s in statuses if s.kind.value != "edge"} == {"test-box"}
    assert all(s.edge_id is None for s in statuses if s.kind.value == "edge")
    gate_offsets = [
        s.clock_offset_s for s in statuses if s.device_id == "gate" and s.clock_offset_s is not None
    ]
    assert gate_offsets and all(-3602 < o < -3598 for o in gate_offsets)


def test_broker_outage_loses_nothing_and_keeps_order(
    tmp_path: Path, own_mosquitto: MosquittoProcess
) -> None:
    settings = mqtt_settings_for(own_mosquitto)
    school = "school-outage"
    col = Collector(settings, [f"campus/{school}/+/+/reading"], client_id="c-out").start()
    assert col.wait_for(lambda ms: col._client.is_connected(), 5)
    link = PtyLink()
    box = write_box(
        tmp_path,
        [
            {
                "id": "ropes",
                "model": "jump_rope_ce_rbs2",
                "transport": {"type": "serial", "port": link.port},
            }
        ],
        school=school,
    )
    agent = EdgeAgent(box, settings)
    runner = _start(agent)
    station = BaseStation(10, random.Random(9))
    station.start_all(jr.Mode.FREE, 0, 0)
    stopped_at = restarted_at = 0.0
    max_during_outage = 0
    start = time.monotonic()
    while time.monotonic() - start < 7:
        elapsed = time.monotonic() - start
        if not stopped_at and elapsed > 1.5:
            own_mosquitto.stop()
            stopped_at = elapsed
        if stopped_at and not restarted_at:
            max_during_outage = max(max_during_outage, agent.buffer.count)
            if elapsed > stopped_at + 3:
                own_mosquitto.start()
                restarted_at = elapsed
        for f in station.step(0.05, realtime=False):
            link.write(f)
        time.sleep(0.05)
    agent.stop_event.set()
    runner.join(40)
    expected = agent.stats.messages
    col.wait_for(lambda ms: len({(t, json.loads(p)["seq"]) for t, p, _ in ms}) >= expected, 20)
    col.stop()

    assert expected > 500 and max_during_outage > 100
    seen: dict[str, list[int]] = defaultdict(list)
    for topic, payload, _ in col.snapshot():
        seen[topic].append(json.loads(payload)["seq"])
    assert sum(len(set(s)) for s in seen.values()) == expected  # nothing lost
    for topic, seqs in seen.items():
        first_arrivals = list(dict.fromkeys(seqs))
        assert first_arrivals == sorted(first_arrivals), topic  # order kept per device
        start = first_arrivals[0]
        assert first_arrivals == list(range(start, start + len(first_arrivals))), topic
    assert agent.stats.buffered == 0 and agent.stats.connects >= 2


def test_config_command_is_applied_and_reported(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    school = "school-cmd"
    col = Collector(mqtt_settings, [f"campus/{school}/edge/+/status"], client_id="c-cmd").start()
    link = PtyLink()
    box = write_box(
        tmp_path,
        [
            {
                "id": "ropes",
                "model": "jump_rope_ce_rbs2",
                "transport": {"type": "serial", "port": link.port},
            }
        ],
        school=school,
    )
    agent = EdgeAgent(box, mqtt_settings)
    runner = _start(agent)

    def status(ms: list[tuple[str, bytes, bool]]) -> Status | None:
        return Status.model_validate_json(ms[-1][1]) if ms else None

    assert col.wait_for(lambda ms: status(ms) is not None, 10)
    topic = cmd_topic(school, "test-box")
    col.publish(topic, b'{"config_version": "2", "devices": {"ropes": {"publish_idle": 7}}}')
    assert col.wait_for(lambda ms: "rejected" in (((s := status(ms)) and s.detail) or ""), 5)
    assert status(col.snapshot()).config_version == "1"  # type: ignore[union-attr]
    col.publish(topic, b'{"config_version": "2", "devices": {"ropes": {"publish_idle": false}}}')
    assert col.wait_for(lambda ms: (s := status(ms)) is not None and s.config_version == "2", 5)
    assert agent.runners["ropes"].config.publish_idle is False  # type: ignore[attr-defined]
    rope_topic = cmd_topic(school, "test-box", "rope")
    col.publish(rope_topic, b'{"device": "ropes", "action": "jump", "mode": "free"}')
    assert col.wait_for(lambda ms: "rejected" in (((s := status(ms)) and s.detail) or ""), 5)
    col.publish(
        rope_topic,
        b'{"device": "ropes", "action": "start", "mode": "countdown_count",'
        b' "set_value": 100, "rope": 3}',
    )
    assert col.wait_for(lambda ms: "rope start sent" in (((s := status(ms)) and s.detail) or ""), 5)
    sent = b""
    end = time.monotonic() + 3
    while (
        time.monotonic() < end
        and jr.encode_control(jr.Action.START, jr.Mode.COUNTDOWN_COUNT, 100, 3) not in sent
    ):
        sent += link.read()
        time.sleep(0.05)
    assert jr.encode_control(jr.Action.START, jr.Mode.COUNTDOWN_COUNT, 100, 3) in sent
    # By the ropes' device ids, as the gateway sends a lesson's: all known, or nothing is sent.
    col.publish(rope_topic, b'{"ropes": ["ropes-5", "rope-99"], "action": "end"}')
    assert col.wait_for(lambda ms: "no rope rope-99" in (((s := status(ms)) and s.detail) or ""), 5)
    col.publish(rope_topic, b'{"ropes": ["ropes-5", "ropes-6"], "action": "end"}')
    assert col.wait_for(lambda ms: "to 2 rope(s)" in (((s := status(ms)) and s.detail) or ""), 5)
    wanted = [jr.encode_control(jr.Action.END, jr.Mode.FREE, 0, rope) for rope in (5, 6)]
    end = time.monotonic() + 3
    while time.monotonic() < end and not all(w in sent for w in wanted):
        sent += link.read()
        time.sleep(0.05)
    assert all(w in sent for w in wanted)
    assert jr.encode_control(jr.Action.END, jr.Mode.FREE, 0, 99) not in sent

    # With the gateway's id: the result comes back in the status; the same id sent again
    # (a resend to a box back online) is not applied again, only reported again.
    def result(ms: list[tuple[str, bytes, bool]], cid: str) -> object:
        s = status(ms)
        return next((r for r in (s.commands or []) if r.id == cid), None) if s else None

    config = b'{"config_version": "3", "devices": {}, "command_id": "cmd-1"}'
    col.publish(topic, config)
    assert col.wait_for(lambda ms: result(ms, "cmd-1") is not None, 5)
    done = result(col.snapshot(), "cmd-1")
    assert done.ok and "config 3 applied" in done.detail  # type: ignore[attr-defined]
    agent.config_version = "changed since"
    col.publish(topic, config)
    time.sleep(0.5)
    assert agent.config_version == "changed since"
    assert list(agent.command_results) == ["cmd-1"]
    # A model update on a box with no signing key pinned: refused, and said why.
    model = cmd_topic(school, "test-box", "model")
    col.publish(model, b'{"file": "p.onnx", "sha256": "00", "command_id": "cmd-2"}')
    assert col.wait_for(lambda ms: result(ms, "cmd-2") is not None, 5)
    refused = result(col.snapshot(), "cmd-2")
    assert not refused.ok and "no model_signing_key" in refused.detail  # type: ignore[attr-defined]
    agent.stop_event.set()
    runner.join(20)
    col.stop()


def test_a_restarted_agent_publishes_what_it_buffered_and_continues_the_sequence(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    from campusedge.broker import free_port

    school = "school-restart"
    link = PtyLink()
    devices = [
        {
            "id": "ropes",
            "model": "jump_rope_ce_rbs2",
            "transport": {"type": "serial", "port": link.port},
            "ids": {"1": "rope-01"},
        }
    ]
    box = write_box(tmp_path, devices, school=school)
    station = BaseStation(1, random.Random(2))
    station.start_all(jr.Mode.FREE, 0, 0)

    def feed(agent: EdgeAgent, steps: int, drain_s: float) -> None:
        runner = threading.Thread(target=agent.run, kwargs={"drain_s": drain_s}, daemon=True)
        runner.start()
        for _ in range(steps):
            for f in station.step(0.05, realtime=False):
                link.write(f)
            time.sleep(0.05)
        time.sleep(0.3)
        agent.stop_event.set()
        runner.join(30)

    # First run: no broker at all; everything stays in the buffer file.
    nowhere = mqtt_settings.model_copy(update={"port": free_port()})
    first = EdgeAgent(box, nowhere)
    feed(first, 20, drain_s=0)
    assert first.stats.buffered == first.stats.messages > 10

    col = Collector(mqtt_settings, [f"campus/{school}/+/+/reading"], client_id="c-rs").start()
    assert col.wait_for(lambda ms: col._client.is_connected(), 5)
    second = EdgeAgent(box, mqtt_settings)
    feed(second, 20, drain_s=10)
    total = first.stats.messages + second.stats.messages
    assert col.wait_for(lambda ms: len(ms) >= total, 10)
    col.stop()
    seqs = [json.loads(p)["seq"] for _, p, _ in col.snapshot()]
    # The old ones first, then new numbers going on from the stored counter, no reuse.
    assert seqs == list(range(seqs[0], seqs[0] + total))


def test_results_made_on_the_box_are_numbered_and_published(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    from campusedge.contract import Event, Reading, TimeQuality
    from campusedge.topics import DeviceKind
    from campusedge.units import Metric, Unit
    from edge.agent import Submitted

    school = "school-pe"
    col = Collector(mqtt_settings, [f"campus/{school}/pe_station/#"], client_id="c-pe").start()
    assert col.wait_for(lambda ms: col._client.is_connected(), 5)
    gate = StreamServer()  # a box needs a device; this one stays silent
    box = write_box(
        tmp_path,
        [
            {
                "id": "gate",
                "model": "temp_gate_ce_tg200",
                "transport": {"type": "tcp", "host": "127.0.0.1", "port": gate.port},
            }
        ],
        school=school,
    )
    agent = EdgeAgent(box, mqtt_settings)
    runner = _start(agent)
    now = datetime.now(UTC)
    for count in (1, 2, 3):
        agent.submit(
            Submitted(
                "cam-1",
                DeviceKind.PE_STATION,
                now,
                TimeQuality.RECEIVED,
                readings=[Reading(metric=Metric.REP_COUNT, value=count, unit=Unit.COUNT)],
                firmware="pose-1",
            )
        )
    agent.submit(
        Submitted(
            "cam-1",
            DeviceKind.PE_STATION,
            now,
            TimeQuality.RECEIVED,
            event=Event(type="pe_set", attributes={"exercise": "situp"}),
        )
    )
    agent.submit(
        Submitted(
            "not a valid id",
            DeviceKind.PE_STATION,
            now,
            TimeQuality.RECEIVED,
            readings=[Reading(metric=Metric.REP_COUNT, value=1, unit=Unit.COUNT)],
        )
    )
    assert col.wait_for(lambda ms: sum(1 for t, _, _ in ms if not t.endswith("status")) >= 4, 10)
    agent.stop_event.set()
    runner.join(20)
    col.stop()
    gate.close()
    msgs = _parsed([m for m in col.snapshot() if not m[0].endswith("/status")])
    start = msgs[0].seq  # type: ignore[attr-defined]
    assert [(type(m).__name__, m.seq - start) for m in msgs] == [  # type: ignore[attr-defined]
        ("ReadingMessage", 0),
        ("ReadingMessage", 1),
        ("ReadingMessage", 2),
        ("EventMessage", 3),
    ]
    assert agent.stats.rejected == 1
    statuses = [
        Status.model_validate_json(p) for t, p, _ in col.snapshot() if t.endswith("/status")
    ]
    assert statuses and statuses[0].firmware == "pose-1" and statuses[0].state == "online"


def test_a_clean_stop_publishes_stopped_statuses_and_no_fault(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    school = "school-clean-stop"
    col = Collector(
        mqtt_settings, [f"campus/{school}/+/+/status"], client_id="c-clean-stop"
    ).start()
    link = PtyLink()
    box = write_box(
        tmp_path,
        [
            {
                "id": "ropes",
                "model": "jump_rope_ce_rbs2",
                "transport": {"type": "serial", "port": link.port},
                "ids": {"1": "rope-01"},
            }
        ],
        school=school,
    )
    station = BaseStation(1, random.Random(3))
    station.start_all(jr.Mode.FREE, 0, 0)
    agent = EdgeAgent(box, mqtt_settings)
    runner = _start(agent)
    for _ in range(20):
        for frame in station.step(0.05, realtime=False):
            link.write(frame)
        time.sleep(0.05)
    assert col.wait_for(lambda ms: any("/rope-01/" in t for t, _, _ in ms), 10)
    agent.stop_event.set()
    runner.join(20)
    assert col.wait_for(
        lambda ms: any(Status.model_validate_json(p).stopped for t, p, _ in ms if "/rope-01/" in t),
        5,
    )
    col.stop()
    statuses = [Status.model_validate_json(p) for _, p, _ in col.snapshot()]
    # The rope went offline because the box stopped it: only stopped statuses say offline
    # (an offline status without it is a fault, and raises an alert at the gateway).
    offline = [s for s in statuses if s.state == "offline"]
    assert offline and all(s.stopped for s in offline)
    assert {s.device_id for s in offline} == {"rope-01", "test-box"}


def test_a_clock_offset_beyond_the_contracts_bound_is_clamped_not_a_crash() -> None:
    from types import SimpleNamespace

    from campusedge.contract import CLOCK_OFFSET_LIMIT_S, DeviceState, Status
    from campusedge.topics import DeviceKind
    from edge.agent import EdgeAgent

    # A box that booted without a clock (1970) reading a gate whose own clock is right.
    gate = SimpleNamespace(rtc=True, clock=SimpleNamespace(offset=-1.8e9))
    offset = EdgeAgent._rtc_offset(gate)  # type: ignore[arg-type]
    assert offset == -CLOCK_OFFSET_LIMIT_S
    Status(
        device_id="gate-1",
        kind=DeviceKind.TEMP_GATE,
        state=DeviceState.ONLINE,
        clock_offset_s=offset,
    )  # builds: the status still goes out, drift and all
    assert (
        EdgeAgent._rtc_offset(
            SimpleNamespace(
                rtc=True,
                clock=SimpleNamespace(  # type: ignore[arg-type]
                    offset=12.3456
                ),
            )
        )
        == 12.346
    )
    assert EdgeAgent._rtc_offset(SimpleNamespace(rtc=False, clock=None)) is None  # type: ignore[arg-type]
