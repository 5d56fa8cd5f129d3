"""A damaged buffer file is moved aside, what still reads is carried over, the box goes on."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from campusedge.broker import MosquittoProcess
from campusedge.contract import Reading, ReadingMessage, Status, TimeQuality
from campusedge.topics import Channel, DeviceKind, DeviceTopic
from campusedge.units import Metric, Unit
from edge.buffer import CLOCK_FLOOR_MS, Buffer, NewMessage
from simulators.links import StreamServer
from tests.conftest import mqtt_settings_for
from tests.edge.collector import Collector

T = CLOCK_FLOOR_MS + 86_400_000
N = 3000


def _fill(path: Path, school: str = "school-dmg", n: int = N) -> dict[int, tuple[str, int, bytes]]:
    """A buffer of *n* real reading messages from three bands; what each id holds."""
    buf = Buffer(path, max_bytes=1 << 30, clock_ms=lambda: T)
    msgs = []
    for i in range(n):
        device = f"hr-{i % 3:02d}"
        seq = buf.next_seq(device)
        body = ReadingMessage(
            device_id=device,
            kind=DeviceKind.HR_BAND,
            seq=seq,
            ts=datetime.now(UTC),
            time_quality=TimeQuality.RECEIVED,
            readings=[Reading(metric=Metric.HEART_RATE, value=60 + i % 100, unit=Unit.BPM)],
        )
        topic = str(DeviceTopic(school, DeviceKind.HR_BAND, device, Channel.READING))
        msgs.append(NewMessage(device, seq, topic, body.model_dump_json().encode(), False))
    buf.add(msgs)
    kept = {e.id: (e.device_id, e.seq, e.payload) for e in buf.pending(0, n)}
    buf.close()
    assert not Path(str(path) + "-wal").exists()  # checkpointed: the rows are in the file
    return kept


def _leaf_cells(path: Path) -> dict[int, int]:
    """Outbox rows on each of its leaf pages (page number -> cells), read while it is sound."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT pageno, ncell FROM dbstat WHERE name = 'outbox' AND pagetype = 'leaf'"
        ).fetchall()
    db.close()
    return {int(p): int(n) for p, n in rows}


def _page_size(path: Path) -> int:
    db = sqlite3.connect(path)
    size = int(db.execute("PRAGMA page_size").fetchone()[0])
    db.close()
    return size


def _assert_exact(buf: Buffer, kept: dict[int, tuple[str, int, bytes]]) -> int:
    """Every carried-over message is the one written under its id; return how many."""
    got = buf.pending(0, 10 * N)
    for e in got:
        assert kept[e.id] == (e.device_id, e.seq, e.payload)
    assert buf.count == len(got)
    return len(got)


def test_overwritten_bytes_in_the_middle_lose_only_the_rows_on_those_pages(
    tmp_path: Path,
) -> None:
    path = tmp_path / "buffer.db"
    kept = _fill(path)
    leaves, size = _leaf_cells(path), _page_size(path)
    pages = path.stat().st_size // size
    first = pages // 2
    with path.open("r+b") as f:  # three whole pages of garbage
        f.seek((first - 1) * size)
        f.write(os.urandom(3 * size))
    damaged = {first, first + 1, first + 2}
    readable = N - sum(n for p, n in leaves.items() if p in damaged)

    buf = Buffer(path, max_bytes=1 << 30, clock_ms=lambda: T)
    assert len(buf.repairs) == 1
    repair = buf.repairs[0]
    assert repair.moved_to.exists() and repair.moved_to.name.startswith("buffer.db.damaged-")
    assert _assert_exact(buf, kept) == readable == repair.recovered
    assert readable < N
    # Numbering goes on above every number still buffered for each band.
    for device in ("hr-00", "hr-01", "hr-02"):
        assert buf.next_seq(device) > max(s for d, s, _ in kept.values() if d == device)
    buf.add([NewMessage("hr-00", buf.next_seq("hr-00"), "t", b"x", False)])
    assert buf.count == readable + 1
    buf.close()
    # The new file is sound: reopening is no repair.
    assert Buffer(path, max_bytes=1 << 30).repairs == []


def test_a_truncated_file_keeps_the_rows_before_the_cut(tmp_path: Path) -> None:
    path = tmp_path / "buffer.db"
    kept = _fill(path)
    leaves, size = _leaf_cells(path), _page_size(path)
    cut = path.stat().st_size // size // 2
    os.truncate(path, cut * size)
    readable = sum(n for p, n in leaves.items() if p <= cut)

    buf = Buffer(path, max_bytes=1 << 30)
    assert [r.recovered for r in buf.repairs] == [readable]
    assert _assert_exact(buf, kept) == readable > 0


def test_a_garbage_header_is_rebuilt_and_every_row_kept(tmp_path: Path) -> None:
    path = tmp_path / "buffer.db"
    kept = _fill(path)
    with path.open("r+b") as f:
        f.write(os.urandom(100))

    buf = Buffer(path, max_bytes=1 << 30)
    assert "not a database" in buf.repairs[0].reason
    assert "header was rebuilt" in buf.repairs[0].summary
    assert _assert_exact(buf, kept) == N


def test_a_zero_length_file_is_reported_not_silently_reused(tmp_path: Path) -> None:
    path = tmp_path / "buffer.db"
    path.write_bytes(b"")
    buf = Buffer(path, max_bytes=1 << 20)
    assert [(r.reason, r.recovered) for r in buf.repairs] == [
        ("the file is empty (zero length)", 0)
    ]
    assert buf.repairs[0].moved_to.exists()
    buf.add([NewMessage("a", buf.next_seq("a"), "t", b"x", False)])
    assert buf.count == 1


def test_damage_found_while_running_is_repaired_and_the_write_kept(tmp_path: Path) -> None:
    path = tmp_path / "buffer.db"
    kept = _fill(path)
    leaves, size = _leaf_cells(path), _page_size(path)
    buf = Buffer(path, max_bytes=1 << 30, clock_ms=lambda: T)
    assert buf.repairs == []
    # The smallest page cache, so that the next read goes to the file and meets the damage.
    buf._db.execute("PRAGMA cache_size = 1")
    victim = sorted(leaves)[len(leaves) // 2]
    with path.open("r+b") as f:
        f.seek((victim - 1) * size)
        f.write(os.urandom(size))

    # The write lands on the last page and goes through; the read after it meets the damage.
    new = NewMessage("hr-00", buf.next_seq("hr-00"), "t", b"new", False)
    buf.add([new])
    assert buf.repairs == []
    got = buf.pending(0, 10 * N)
    assert len(buf.repairs) == 1
    assert buf.repairs[0].recovered == N - leaves[victim] + 1
    assert [e.payload for e in got if e.id not in kept] == [b"new"]
    assert len(got) == N - leaves[victim] + 1


@pytest.mark.mosquitto
def test_the_agent_starts_on_a_damaged_buffer_publishes_what_was_saved_and_says_so(
    tmp_path: Path, mosquitto: MosquittoProcess
) -> None:
    school = "school-dmg-agent"
    buffer = tmp_path / "buffer.db"
    kept = _fill(buffer, school, n=1000)
    leaves, size = _leaf_cells(buffer), _page_size(buffer)
    victim = sorted(leaves)[len(leaves) // 2]
    with buffer.open("r+b") as f:
        f.seek((victim - 1) * size)
        f.write(os.urandom(size))
    readable = len(kept) - leaves[victim]

    gate = StreamServer()  # a box needs a device; this one stays silent
    config = tmp_path / "box.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "kind": "edge_box",
                "edge_id": "box-dmg",
                "school": school,
                "buffer": {"path": str(buffer)},
                "status_interval_s": 1,
                "devices": [
                    {
                        "id": "gate",
                        "model": "temp_gate_ce_tg200",
                        "transport": {"type": "tcp", "host": "127.0.0.1", "port": gate.port},
                    }
                ],
            }
        )
    )
    mqtt = mqtt_settings_for(mosquitto)
    col = Collector(mqtt, [f"campus/{school}/#"], client_id="c-dmg").start()
    assert col.wait_for(lambda ms: col._client.is_connected(), 5)
    stats = tmp_path / "stats.json"
    env = {
        **os.environ,
        "CAMPUSEDGE_MQTT_HOST": mqtt.host,
        "CAMPUSEDGE_MQTT_PORT": str(mqtt.port),
        "CAMPUSEDGE_MQTT_USERNAME": mqtt.username or "",
        "CAMPUSEDGE_MQTT_PASSWORD": mqtt.password.get_secret_value() if mqtt.password else "",
    }
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "campusedge.cli", "edge", "run", "--config", str(config)),
            *("--duration", "4", "--stats-out", str(stats)),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    gate.close()
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "buffer" in proc.stderr and "was damaged" in proc.stderr

    def readings(ms: list[tuple[str, bytes, bool]]) -> list[tuple[str, bytes, bool]]:
        return [m for m in ms if m[0].endswith("/reading")]

    assert col.wait_for(lambda ms: len(readings(ms)) >= readable, 10)
    col.stop()
    got = readings(col.snapshot())
    written = {p for _, _, p in kept.values()}
    assert all(p in written for _, p, _ in got)
    assert len({p for _, p, _ in got}) == readable
    edge = [
        Status.model_validate_json(p)
        for t, p, _ in col.snapshot()
        if t == f"campus/{school}/edge/box-dmg/status"
    ]
    online = [s for s in edge if s.state == "online"]
    assert online and online[0].buffer_repair is not None
    assert online[0].buffer_repair.recovered == readable
    assert online[0].buffer_repair.moved_to.startswith("buffer.db.damaged-")
    assert (online[0].detail or "").startswith("buffer damaged and rebuilt")
    counters = json.loads(stats.read_text())
    assert (counters["buffer_repairs"], counters["buffer_recovered"]) == (1, readable)


def test_a_damaged_interior_page_loses_no_row_and_beats_iterdump(tmp_path: Path) -> None:
    path = tmp_path / "buffer.db"
    kept = _fill(path, n=10_000)
    with sqlite3.connect(path) as db:
        interior = [
            int(r[0])
            for r in db.execute(
                "SELECT pageno FROM dbstat WHERE name = 'outbox' AND pagetype = 'internal'"
            )
        ]
    db.close()
    size = _page_size(path)
    assert interior  # 10,000 messages need more than one level of pages
    with path.open("r+b") as f:
        f.seek((interior[0] - 1) * size)
        f.write(os.urandom(size))
    # What a dump gets: it stops at the first error.
    dumped = 0
    src = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError):
        for line in src.iterdump():
            dumped += line.startswith('INSERT INTO "outbox"')
    src.close()

    buf = Buffer(path, max_bytes=1 << 30)
    # The leaves under the damaged page are intact: every message is read from them.
    assert _assert_exact(buf, kept) == len(kept) == buf.repairs[0].recovered
    assert dumped < len(kept)
