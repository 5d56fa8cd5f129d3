"""Why the store cannot write: a full disk told apart from the rest, for health and start-up."""

from __future__ import annotations

import errno
import sqlite3

from gateway.state import StateDBUnavailable
from gateway.store.base import StoreUnavailable

DISK_FULL = "disk_full"
STORE_UNREACHABLE = "store_unreachable"
WRITE_FAILED = "store_write_failed"
# The commit needs the state database too (binding, enrolment): PostgreSQL away.
STATE_DB_UNREACHABLE = "state_db_unreachable"

# What a store says when its disk is full, where it gives no code: InfluxDB answers with the
# server's error text; some SQLite paths report the OS error as text.
_FULL_TEXT = ("database or disk is full", "no space left on device", "disk quota exceeded")


def failure_reason(exc: BaseException) -> str:
    """`disk_full`, `store_unreachable`, `state_db_unreachable` or `store_write_failed`, from
    *exc* and its causes."""
    seen: BaseException | None = exc
    for _ in range(8):  # the chain a store wraps its driver's error in
        if seen is None:
            break
        if isinstance(seen, sqlite3.Error) and (
            getattr(seen, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL
        ):
            return DISK_FULL
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return DISK_FULL
        if any(text in str(seen).lower() for text in _FULL_TEXT):
            return DISK_FULL
        if isinstance(seen, StoreUnavailable):
            return STORE_UNREACHABLE
        if isinstance(seen, StateDBUnavailable):
            return STATE_DB_UNREACHABLE
        seen = seen.__cause__ or seen.__context__
    return WRITE_FAILED


def disk_trouble(message: str) -> bool:
    """Whether a start-up error is the disk's (full, or failing), which may pass, rather than
    the configuration's. Opening an existing WAL database on a full disk fails in creating
    its index file, and SQLite calls that a "disk I/O error"."""
    text = message.lower()
    return "disk i/o error" in text or any(full in text for full in _FULL_TEXT)
