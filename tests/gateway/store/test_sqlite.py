"""SQLite-only behaviour: schema names, threads, durability across kill -9, and its errors."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.store.base import StoreError, WriteResult
from gateway.store.commit_log import APPENDER_CACHE, CommitLog
from gateway.store.sqlite import WRITER_CACHE, SqliteStore
from tests.gateway.store.conftest import T0, message

ROOT = Path(__file__).resolve().parents[3]


def test_schema_is_readable_by_other_tools(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    store.write([message("hr-01", 1, event_type="lap", attributes=(("n", 1),))])
    store.close()
    with sqlite3.connect(tmp_path / "s.db") as conn:
        row = conn.execute(
            "SELECT device_id, seq, school, kind, ts, time_quality, received_at,"
            " event_type, attributes FROM messages"
        ).fetchone()
        assert row == (
            "hr-01",
            1,
            "sch-a",
            "hr_band",
            "2026-09-01T08:00:01.000000Z",
            "synced",
            "2026-09-01T08:00:01.250000Z",
            "lap",
            '{"n": 1}',
        )
        assert conn.execute("SELECT event_readings FROM messages").fetchone() == (
            '[["heart_rate", 120.0, "bpm"]]',
        )
        assert conn.execute(
            "SELECT device_id, seq, metric, value, unit, ts FROM readings"
        ).fetchall() == [("hr-01", 1, "heart_rate", 120.0, "bpm", "2026-09-01T08:00:01.000000Z")]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        plan = " ".join(
            str(r)
            for r in conn.execute(
                "EXPLAIN QUERY PLAN SELECT * FROM readings WHERE device_id = 'x' AND metric = 'y'"
                " AND ts >= '2026'"
            )
        )
        assert "readings_device_metric_ts" in plan
        plan = " ".join(
            str(r)
            for r in conn.execute(
                "EXPLAIN QUERY PLAN SELECT * FROM messages WHERE device_id = 'x'"
                " AND event_type IS NOT NULL ORDER BY ts"
            )
        )
        assert "messages_event_device" in plan  # not a scan of every message of the device


def test_synchronous_setting_is_applied(tmp_path: Path) -> None:
    for mode, level in (("full", 2), ("normal", 1)):
        store = SqliteStore(tmp_path / f"{mode}.db", synchronous=mode)  # type: ignore[arg-type]
        assert store._conn().execute("PRAGMA synchronous").fetchone() == (level,)
        store.close()


def test_reads_from_other_threads_while_writing(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    batches = 40
    errors: list[BaseException] = []
    seen: list[int] = []
    done = threading.Event()

    def writer() -> None:
        try:
            for b in range(batches):
                store.write(
                    [
                        message("hr-01", b * 50 + i, ts=T0 + timedelta(seconds=b * 50 + i))
                        for i in range(50)
                    ]
                )
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            done.set()

    def reader() -> None:
        try:
            while not done.is_set():
                n = store.count_messages()
                rows = store.readings(device_id="hr-01", limit=100_000)
                # A reader sees whole batches only: the count is a multiple of the batch size.
                assert n % 50 == 0 and len(rows) >= n
                seen.append(n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert store.count_messages() == batches * 50
    assert seen, "readers never ran"
    store.close()


def test_acknowledged_write_survives_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    # The child writes, reports the acknowledgement, then waits to be killed mid-life: nothing
    # after `write` returning (no close, no checkpoint) runs.
    child = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from tests.gateway.store.conftest import message
        from gateway.store.sqlite import SqliteStore
        store = SqliteStore({str(db)!r}, synchronous=sys.argv[1])
        for b in range(5):
            r = store.write([message("hr-01", b * 200 + i) for i in range(200)])
            print("acked", b, r.inserted, flush=True)
        time.sleep(60)
    """)
    for mode in ("full", "normal"):
        if db.exists():
            for f in tmp_path.glob("s.db*"):
                f.unlink()
        proc = subprocess.Popen(
            [sys.executable, "-c", child, mode], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(5)]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert lines[-1].split() == ["acked", "4", "200"], lines
        assert (tmp_path / "s.db-wal").exists()  # the data is in the WAL, not checkpointed
        store = SqliteStore(db)
        assert store.count_messages() == 1000, mode
        assert len(store.readings(limit=5000)) == 1000
        store.close()


def test_write_after_close_is_a_clear_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.write([message()])


def test_naive_timestamp_is_refused(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    with pytest.raises(StoreError, match="UTC offset"):
        store.write([message(ts=T0.replace(tzinfo=None))])
    assert store.count_messages() == 0  # the batch was rolled back as a whole
    store.close()


def test_memory_database_is_refused() -> None:
    with pytest.raises(StoreError, match="file path"):
        SqliteStore(":memory:")


def test_unwritable_path_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match="cannot open sqlite store"):
        SqliteStore(tmp_path / "file" / "s.db")


# Made by the release before the school joined the key (primary key (device_id, seq)):
# school-a's hr-01 seqs 1000-1004, rope-1's rope_result event seq 7, school-c's gate-1 seq 1,
# and one dead letter.
BEFORE_SCHOOL_KEY = Path(__file__).parent / "testdata" / "readings-before-school-key.db"


def test_a_file_keyed_without_the_school_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "readings.db"
    shutil.copy(BEFORE_SCHOOL_KEY, path)
    store = SqliteStore(path)
    # Everything stored before is there, with its school.
    assert store.count_messages() == 7
    rows = store.readings(device_id="hr-01")
    assert [(r.school, r.seq, r.value) for r in rows] == [
        ("school-a", 1000 + i, 120.0 + i) for i in range(5)
    ]
    [rope] = store.events(device_id="rope-1")
    assert (rope.school, rope.seq, rope.attributes) == (
        "school-a",
        7,
        {"mode": "countdown_time", "set_value": 60},
    )
    assert [(d.school, d.device_id, d.last_seq) for d in store.last_seen()] == [
        ("school-c", "gate-1", 1),
        ("school-a", "hr-01", 1004),
        ("school-a", "rope-1", 7),
    ]
    assert len(store.dead_letters()) == 1
    # Redeliveries of what was stored are still duplicates; another school's hr-01 is not.
    before = message("hr-01", 1000, school="school-a", ts=rows[0].ts)
    assert store.write([before]) == WriteResult(inserted=0, duplicates=1)
    assert store.write([message("hr-01", 1000, school="school-b")]) == WriteResult(1, 0)
    assert store.duplicate_keys() == 0
    store.close()
    with sqlite3.connect(path) as conn:
        key = {r[1]: r[5] for r in conn.execute("PRAGMA table_info(messages)")}
        assert (key["school"], key["device_id"], key["seq"]) == (1, 2, 3)
        assert conn.execute("SELECT count(*) FROM readings WHERE school = ''").fetchone() == (0,)
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "messages_v1" not in names and "devices_v1" not in names
        assert {"messages_event", "messages_event_device"} <= names
    # Opening it again changes nothing.
    again = SqliteStore(path)
    assert again.count_messages() == 8
    again.close()


def _cache_size(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA cache_size").fetchone()[0])


def test_only_the_writing_connections_have_the_large_page_caches(tmp_path: Path) -> None:
    # Every thread has connections of its own, and each page cache fills up to its size over
    # a long run: readers keep SQLite's default, so the bound is one large cache per file.
    store = SqliteStore(tmp_path / "readings.db")
    log = CommitLog(tmp_path / "commits.db")
    store.write([message("hr-01", 1)])
    log.append([message("hr-01", 1)])
    assert _cache_size(store._conn()) == WRITER_CACHE
    assert _cache_size(log._conn()) == APPENDER_CACHE
    seen: list[int] = []

    def read() -> None:
        assert store.count_messages() == 1
        assert log.head() == 1
        seen.extend((_cache_size(store._conn()), _cache_size(log._conn())))

    reader = threading.Thread(target=read)
    reader.start()
    reader.join()
    assert seen == [-2000, -2000]
    store.close()
    log.close()
