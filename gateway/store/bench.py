"""`campusedge bench store`: write rate of a store, against a bare SQLite insert baseline."""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from campusedge.contract import TimeQuality
from campusedge.topics import DeviceKind
from gateway.store.base import StoredMessage
from gateway.store.factory import open_store


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="store URL (default: a fresh SQLite file in a temp dir)")
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--devices", type=int, default=200)


def make_messages(count: int, devices: int) -> list[StoredMessage]:
    """Heart-rate band traffic: one reading per message, devices interleaved as on the bus."""
    t0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    out = []
    for i in range(count):
        ts = t0 + timedelta(milliseconds=i * 5)
        out.append(
            StoredMessage(
                school="sch-bench",
                kind=DeviceKind.HR_BAND,
                device_id=f"hr-{i % devices:04d}",
                seq=i // devices,
                ts=ts,
                time_quality=TimeQuality.SYNCED,
                received_at=ts + timedelta(milliseconds=40),
                readings=(("heart_rate", 100.0 + i % 60, "bpm"),),
            )
        )
    return out


def _baseline(path: Path, messages: list[StoredMessage], batch: int) -> float:
    """The same rows into plain tables: no key, no index, no dedup — the floor to compare to."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE m (device_id, seq, school, kind, ts, tq, received_at)")
    conn.execute("CREATE TABLE r (device_id, seq, metric, value, unit, ts)")
    start = time.perf_counter()
    for i in range(0, len(messages), batch):
        chunk = messages[i : i + batch]
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO m VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    m.device_id,
                    m.seq,
                    m.school,
                    str(m.kind),
                    m.ts.isoformat(),
                    str(m.time_quality),
                    m.received_at.isoformat(),
                )
                for m in chunk
            ],
        )
        conn.executemany(
            "INSERT INTO r VALUES (?, ?, ?, ?, ?, ?)",
            [
                (m.device_id, m.seq, k, v, u, m.ts.isoformat())
                for m in chunk
                for k, v, u in m.readings
            ],
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return len(messages) / elapsed


def run(args: argparse.Namespace) -> int:
    messages = make_messages(args.messages, args.devices)
    with tempfile.TemporaryDirectory(prefix="campusedge-bench-") as tmp:
        baseline = _baseline(Path(tmp) / "baseline.db", messages, args.batch)
        url = args.url or f"sqlite:///{tmp}/store.db"
        store = open_store(url)
        try:
            start = time.perf_counter()
            cpu_start = time.process_time()
            inserted = 0
            for i in range(0, len(messages), args.batch):
                inserted += store.write(messages[i : i + args.batch]).inserted
            elapsed = time.perf_counter() - start
            cpu = time.process_time() - cpu_start
            # A second pass over the first batches: the redelivery path (all duplicates).
            redo_n = min(len(messages), 10 * args.batch)
            redo_start = time.perf_counter()
            dups = 0
            for i in range(0, redo_n, args.batch):
                dups += store.write(messages[i : i + args.batch]).duplicates
            redo_elapsed = time.perf_counter() - redo_start
            result = {
                "bench": "store",
                "store": url.split(":", 1)[0],
                "messages": len(messages),
                "batch": args.batch,
                "inserted": inserted,
                "messages_per_s": round(len(messages) / elapsed),
                # Per CPU second of this process: steadier than wall time on a shared machine;
                # the gap to messages_per_s is fsync and waiting for the CPU.
                "messages_per_cpu_s": round(len(messages) / cpu),
                "redelivery_messages_per_s": round(redo_n / redo_elapsed),
                "redelivery_duplicates": dups,
                "count_messages": store.count_messages(),
                "duplicate_keys": store.duplicate_keys(),
                "baseline_bare_sqlite_messages_per_s": round(baseline),
            }
        finally:
            store.close()
    print(json.dumps(result))
    return 0
