"""The edge agent on a full disk: live readings keep flowing, the status says so, it resumes."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from campusedge.contract import Reading, Status, TimeQuality
from campusedge.settings import MqttSettings
from campusedge.topics import DeviceKind
from campusedge.units import Metric, Unit
from edge.agent import EdgeAgent, Submitted
from simulators.links import StreamServer
from tests.edge.boxes import write_box
from tests.edge.collector import Collector
from tests.small_disk import fill, small_disk

__all__ = ["small_disk"]  # the fixture

pytestmark = pytest.mark.mosquitto


def _submit(agent: EdgeAgent, count: int) -> None:
    for n in range(count):
        assert agent.submit(
            Submitted(
                "cam-1",
                DeviceKind.PE_STATION,
                datetime.now(UTC),
                TimeQuality.RECEIVED,
                readings=[Reading(metric=Metric.REP_COUNT, value=n, unit=Unit.COUNT)],
                firmware="pose-1",
            ),
            timeout_s=5,
        )


def _readings(col: Collector) -> list[int]:
    return [json.loads(p)["seq"] for t, p, _ in col.snapshot() if t.endswith("/reading")]


def _edge_details(col: Collector) -> list[str]:
    return [
        Status.model_validate_json(p).detail or ""
        for t, p, _ in col.snapshot()
        if "/edge/" in t and t.endswith("/status")
    ]


def test_a_full_buffer_disk_keeps_readings_flowing_and_buffering_resumes(
    tmp_path: Path, small_disk: Path, mqtt_settings: MqttSettings
) -> None:
    school = "s" + uuid.uuid4().hex[:8]
    col = Collector(mqtt_settings, [f"campus/{school}/#"], client_id=f"c-{school}").start()
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
        buffer={"path": str(small_disk / "buffer.db")},
    )
    agent = EdgeAgent(box, mqtt_settings)
    runner = threading.Thread(target=agent.run, kwargs={"drain_s": 10}, daemon=True)
    runner.start()
    try:
        _submit(agent, 5)
        assert col.wait_for(lambda ms: len(_readings(col)) >= 5, 10)
        assert agent.stats.unbuffered == 0 and agent.stats.buffer_unavailable is None

        # No WAL left to reuse, then not a byte free: the next buffer write needs new space.
        with sqlite3.connect(small_disk / "buffer.db") as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        filler = fill(small_disk)
        _submit(agent, 50)
        assert col.wait_for(lambda ms: len(_readings(col)) >= 55, 10), len(_readings(col))
        assert agent.stats.buffer_unavailable == "disk full"
        assert agent.stats.unbuffered == 50
        assert col.wait_for(
            lambda ms: any("buffer unavailable (disk full)" in d for d in _edge_details(col)), 10
        )

        filler.unlink()
        _submit(agent, 10)
        assert col.wait_for(lambda ms: len(_readings(col)) >= 65, 10)
        assert col.wait_for(lambda ms: agent.stats.buffer_unavailable is None, 5)
        # Through the buffer again: nothing more went out without a copy.
        assert agent.stats.unbuffered == 50
        assert col.wait_for(lambda ms: "buffer unavailable" not in _edge_details(col)[-1], 10), (
            _edge_details(col)[-1]
        )
    finally:
        agent.stop_event.set()
        runner.join(30)
        col.stop()
        gate.close()
    seqs = sorted(set(_readings(col)))
    assert seqs == list(range(seqs[0], seqs[0] + 65))
    assert agent.stats.dropped == 0
    # Whatever a full disk kept from being deleted after its PUBACK went at the next chance.
    assert agent.stats.buffered == 0


def test_an_agent_started_on_a_full_disk_buffers_in_memory_then_moves_into_the_file(
    tmp_path: Path, small_disk: Path, mqtt_settings: MqttSettings
) -> None:
    from campusedge.broker import free_port

    school = "s" + uuid.uuid4().hex[:8]
    gate = StreamServer()
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
        buffer={"path": str(small_disk / "buffer.db")},
    )

    def run(agent: EdgeAgent) -> threading.Thread:
        runner = threading.Thread(target=agent.run, kwargs={"drain_s": 5}, daemon=True)
        runner.start()
        return runner

    # A first run without a broker leaves 5 readings in the file.
    offline = EdgeAgent(box, mqtt_settings.model_copy(update={"port": free_port()}))
    runner = run(offline)
    _submit(offline, 5)
    for _ in range(200):
        if offline.stats.buffered == 5:
            break
        runner.join(0.05)
    offline.stop_event.set()
    runner.join(30)
    assert offline.stats.buffered == 5

    col = Collector(mqtt_settings, [f"campus/{school}/#"], client_id=f"c-{school}").start()
    filler = fill(small_disk)
    try:
        assert col.wait_for(lambda ms: col._client.is_connected(), 5)
        agent = EdgeAgent(box, mqtt_settings)
        assert agent.buffer_guard.in_memory
        runner = run(agent)
        _submit(agent, 10)
        assert col.wait_for(lambda ms: len(_readings(col)) >= 10, 10)
        assert agent.stats.buffer_unavailable == "disk full, buffering in memory"
        assert col.wait_for(
            lambda ms: any("buffering in memory" in d for d in _edge_details(col)), 10
        )
        filler.unlink()
        # Opened within a few seconds: the 5 old readings go out, then the memory's.
        assert col.wait_for(lambda ms: len(set(_readings(col))) >= 15, 15)
        assert not agent.buffer_guard.in_memory and agent.stats.buffer_unavailable is None
        _submit(agent, 5)
        assert col.wait_for(lambda ms: len(set(_readings(col))) >= 20, 10)
        agent.stop_event.set()
        runner.join(30)
        assert agent.stats.buffered == 0

        # The counters made in memory were moved into the file: a restart goes on above them.
        again = EdgeAgent(box, mqtt_settings)
        runner = run(again)
        _submit(again, 1)
        assert col.wait_for(lambda ms: len(set(_readings(col))) >= 21, 10)
        again.stop_event.set()
        runner.join(30)
    finally:
        filler.unlink(missing_ok=True)
        col.stop()
        gate.close()
    seqs = _readings(col)
    old, first_new, last = sorted(set(seqs))[:5], seqs[:10], seqs[-1]
    assert len(set(seqs)) == 21
    assert max(old) < min(first_new) and last == max(seqs)
