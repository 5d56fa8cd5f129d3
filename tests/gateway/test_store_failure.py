"""A full disk is told apart from other store failures, however the store wraps the error."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from gateway.store.base import StoreError, StoreUnavailable
from gateway.store_failure import disk_trouble, failure_reason


def _wrapped(cause: BaseException, message: str = "write failed") -> StoreError:
    try:
        raise StoreError(message) from cause
    except StoreError as exc:
        return exc


def test_sqlite_full_os_enospc_and_influx_text_are_a_full_disk(tmp_path: Path) -> None:
    # A real SQLITE_FULL: a database limited to its current size, then written to.
    conn = sqlite3.connect(tmp_path / "x.db")
    conn.execute("CREATE TABLE t (x BLOB)")
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    try:
        conn.execute("INSERT INTO t VALUES (zeroblob(100000))")
        raise AssertionError("SQLite wrote beyond max_page_count")
    except sqlite3.OperationalError as full:
        assert failure_reason(_wrapped(full)) == "disk_full"
    finally:
        conn.close()
    assert failure_reason(OSError(errno.ENOSPC, "No space left on device")) == "disk_full"
    influx = (
        'influx write: HTTP 500: {"error":"write /var/lib/influxdb/wal: no space left on device"}'
    )
    assert failure_reason(StoreError(influx)) == "disk_full"


def test_other_failures_keep_their_own_reason() -> None:
    assert failure_reason(StoreUnavailable("influx at http://db:8086 is not reachable")) == (
        "store_unreachable"
    )
    assert failure_reason(_wrapped(sqlite3.OperationalError("database is locked"))) == (
        "store_write_failed"
    )
    assert disk_trouble("cannot open state database /var/lib/campusedge/state.db: disk I/O error")
    assert not disk_trouble("cannot open state database /nope/state.db: unable to open database")
