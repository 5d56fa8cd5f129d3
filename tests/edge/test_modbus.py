"""Modbus devices polled from a real pymodbus server, over TCP and over RTU through a pty pair."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymodbus.constants import ExcCodes

from campusedge.broker import free_port
from campusedge.settings import MqttSettings
from drivers import modbus
from drivers.base import DecodeError
from edge.agent import EdgeAgent
from edge.buffer import Buffer
from edge.transports.base import TransportError
from edge.transports.modbus import ModbusPoller
from simulators.modbus import ModbusSimulator, model_config
from tests.edge.boxes import write_box

ENV = model_config("modbus_ce_env30").model_copy(
    update={"poll_interval_s": 0.01, "timeout_s": 0.2, "retries": 0}
)
DRIVER = modbus.Modbus()


def _poller(sim: ModbusSimulator, cfg: modbus.Config, units: dict[str | None, int]) -> ModbusPoller:
    if sim.transport == "tcp":
        assert sim.port is not None
        return ModbusPoller(cfg, host="127.0.0.1", tcp_port=sim.port, units=units)
    return ModbusPoller(cfg, serial_port=sim.serial_port, baudrate=115200, units=units)


@pytest.fixture(params=["tcp", "rtu"])
def sim(request: pytest.FixtureRequest) -> Iterator[ModbusSimulator]:
    s = ModbusSimulator(ENV, units=[1, 2], transport=request.param, baudrate=115200)
    yield s
    s.close()


def test_each_unit_is_polled_and_decoded_to_its_registers_values(sim: ModbusSimulator) -> None:
    poller = _poller(sim, ENV, {"1": 1, "2": 2})
    poller.open()
    try:
        sim.tick()
        frames = dict(poller.read(0.5))
    finally:
        poller.close()
    assert set(frames) == {"1", "2"}
    for unit, frame in frames.items():
        (decoded,) = DRIVER.decode(frame, ENV)
        image = sim.images[int(unit)]
        got = {r.metric.value: r.value for r in decoded.readings}
        assert got.keys() == image.values.keys()
        for p in ENV.points:  # the device stores the value rounded to its register's scale
            assert got[p.metric] == pytest.approx(image.values[p.metric], abs=p.scale / 2 + 1e-9)
    assert poller.poll_errors == {"1": 0, "2": 0}


def test_exception_answers_are_counted_then_the_device_goes_offline() -> None:
    sim = ModbusSimulator(ENV, units=[1], transport="tcp")
    poller = _poller(sim, ENV, {None: 1})
    poller.open()
    try:
        assert len(poller.read(0.5)) == 1
        sim.exception = ExcCodes.DEVICE_BUSY
        for _ in range(ENV.offline_after - 1):
            time.sleep(ENV.poll_interval_s)
            assert poller.read(0.5) == []  # counted, not yet offline
        time.sleep(ENV.poll_interval_s)
        with pytest.raises(TransportError, match="no answer to 3 polls in a row"):
            poller.read(0.5)
        assert poller.poll_errors == {None: 3}
        assert "exception response" in (poller.state[None].last_error or "")
        sim.exception = None
        time.sleep(ENV.poll_interval_s)
        assert len(poller.read(0.5)) == 1 and poller.state[None].missed == 0
    finally:
        poller.close()
        sim.close()


def test_a_silent_unit_on_a_shared_line_costs_only_its_own_polls() -> None:
    # Unit 9 is on no device: on RS-485 nobody answers, the request times out.
    sim = ModbusSimulator(ENV, units=[1], transport="rtu", baudrate=115200)
    cfg = ENV.model_copy(update={"timeout_s": 0.05})
    poller = _poller(sim, cfg, {"1": 1, "9": 9})
    poller.open()
    try:
        for _ in range(cfg.offline_after):
            assert [source for source, _ in poller.read(0.5)] == ["1"]
            time.sleep(cfg.poll_interval_s)
    finally:
        poller.close()
        sim.close()
    assert poller.poll_errors == {"1": 0, "9": cfg.offline_after}
    state = poller.source_state("9")
    assert state is not None and not state.online and state.detail
    assert poller.source_state("1") == poller.source_state("1").__class__(online=True)


def _crc16_modbus(data: bytes) -> bytes:
    """CRC-16/MODBUS (reflected 0xA001, init 0xFFFF), low byte first as on the line."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc.to_bytes(2, "little")


# Answers the simulator sends instead of its own: noise, and random PDUs in a valid frame
# (an MBAP header with the right length; an RTU unit byte and a correct CRC), which get past
# the framing to pymodbus's PDU decoder.
ANSWERS = {
    "tcp": st.one_of(
        st.binary(max_size=40),
        st.binary(max_size=30).map(
            lambda pdu: b"\x00\x01\x00\x00" + (len(pdu) + 1).to_bytes(2, "big") + b"\x01" + pdu
        ),
    ),
    "rtu": st.one_of(
        st.binary(max_size=40),
        st.binary(min_size=1, max_size=30).map(
            lambda pdu: b"\x01" + pdu + _crc16_modbus(b"\x01" + pdu)
        ),
    ),
}


@pytest.mark.parametrize("link", ["tcp", "rtu"])
def test_malformed_answers_never_crash_the_poller(link: str) -> None:
    sim = ModbusSimulator(ENV, units=[1], transport=link, baudrate=115200)
    cfg = ENV.model_copy(update={"timeout_s": 0.03, "offline_after": 100})
    poller = _poller(sim, cfg, {None: 1})
    poller.open()
    outcomes = {"frame": 0, "decode_error": 0, "counted": 0, "link_lost": 0}

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(answer=ANSWERS[link], keep_id=st.booleans())
    def one_poll(answer: bytes, keep_id: bool) -> None:
        # Over TCP, keeping the transaction id of the real answer lets garbage reach the PDU
        # decoder (an RTU frame has no id).
        if keep_id and link == "tcp":
            sim.mangle = lambda real: real[:2] + answer[2:]
        else:
            sim.mangle = lambda _: answer
        time.sleep(cfg.poll_interval_s)
        before = poller.poll_errors[None]
        try:
            frames = poller.read(0.5)
        except TransportError:  # the connection was dropped: the runner reopens it
            outcomes["link_lost"] += 1
            poller.close()
            poller.open()
            return
        if not frames:
            assert poller.poll_errors[None] == before + 1
            outcomes["counted"] += 1
            return
        try:
            DRIVER.decode(frames[0][1], cfg)
            outcomes["frame"] += 1
        except DecodeError:
            outcomes["decode_error"] += 1

    try:
        one_poll()
        sim.mangle = None
        time.sleep(cfg.poll_interval_s)
        # The link still works after all that.
        assert len(poller.read(0.5)) == 1
    finally:
        poller.close()
        sim.close()
    assert outcomes["counted"] > 0, outcomes


def test_agent_publishes_env_sensor_readings_and_counts_poll_errors(tmp_path: Path) -> None:
    sim = ModbusSimulator(ENV, units=[1, 2], transport="tcp")
    assert sim.port is not None
    box = write_box(
        tmp_path,
        [
            {
                "id": "room-101",
                "model": "modbus_ce_env30",
                "transport": {"type": "tcp", "host": "127.0.0.1", "port": sim.port},
                "ids": {"1": "env-101", "2": "env-102", "7": "env-107"},
                "config": {"poll_interval_s": 0.2, "timeout_s": 0.1, "retries": 0},
            }
        ],
        metrics_port=free_port(),
    )
    assert box.devices[0].kind.value == "env_sensor"
    agent = EdgeAgent(box, MqttSettings(host="127.0.0.1", port=free_port()))
    try:
        agent.run(duration_s=1.3, drain_s=0)
    finally:
        agent.buffer.close()
        sim.close()
    buffer = Buffer(tmp_path / "buffer.db", max_bytes=1 << 20)
    try:
        entries = buffer.pending(0, 1000)
    finally:
        buffer.close()
    topics = {e.topic for e in entries}
    assert "campus/test-school/env_sensor/env-101/reading" in topics
    assert "campus/test-school/env_sensor/env-102/reading" in topics
    reading = next(e for e in entries if e.topic.endswith("env-101/reading"))
    metrics = {r["metric"] for r in json.loads(reading.payload)["readings"]}
    assert metrics == {"relative_humidity", "ambient_temperature", "co2"}
    # The /metrics the agent last published (it took a snapshot a second in).
    assert agent.metrics is not None
    samples = {
        (s.name, tuple(s.labels.values())): s.value
        for family in agent.metrics.collect()
        for s in family.samples
    }
    # Unit 7 is on no device: nobody answers, each poll times out and is counted.
    assert samples[("campusedge_edge_poll_errors_total", ("env-107",))] >= 2
    assert samples[("campusedge_edge_poll_errors_total", ("env-101",))] == 0
    assert samples[("campusedge_edge_poll_errors_total", ("env-102",))] == 0
