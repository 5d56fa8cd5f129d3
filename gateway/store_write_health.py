"""Whether the store takes writes: the reason of the latest failed commit, until one succeeds.

The writer keeps a failing batch unacknowledged and retries it (the broker holds the rest);
this records why, so that `/healthz` and `/metrics` say "disk full" rather than nothing.
"""

from __future__ import annotations

import errno
import sqlite3
import threading
import time
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Gauge

from gateway.store.base import StoreUnavailable

DISK_FULL = "disk_full"
STORE_UNREACHABLE = "store_unreachable"
WRITE_FAILED = "store_write_failed"
REASONS = (DISK_FULL, STORE_UNREACHABLE, WRITE_FAILED)

# What a store says when its disk is full, where it gives no code: InfluxDB answers with the
# server's error text; some SQLite paths report the OS error as text.
_FULL_TEXT = ("database or disk is full", "no space left on device", "disk quota exceeded")


def failure_reason(exc: BaseException) -> str:
    """`disk_full`, `store_unreachable` or `store_write_failed`, from *exc* and its causes."""
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
        seen = seen.__cause__ or seen.__context__
    return WRITE_FAILED


def disk_trouble(message: str) -> bool:
    """Whether a start-up error is the disk's (full, or failing), which may pass, rather than
    the configuration's. Opening an existing WAL database on a full disk fails in creating
    its index file, and SQLite calls that a "disk I/O error"."""
    text = message.lower()
    return "disk i/o error" in text or any(full in text for full in _FULL_TEXT)


@dataclass(frozen=True)
class StoreWriteFailure:
    reason: str
    detail: str
    since: float  # time.monotonic() of the first failure in this run of failures
    attempts: int


class StoreWriteHealth:
    """Set by the ingest writer on each failed and each successful commit; read by health."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._lock = threading.Lock()
        self._failure: StoreWriteFailure | None = None
        self.gauge = Gauge(
            "campusedge_store_write_failing",
            "1 while batch commits fail and nothing is acknowledged, by reason "
            "(disk_full, store_unreachable, store_write_failed)",
            ["reason"],
            registry=registry,
        )
        for reason in REASONS:
            self.gauge.labels(reason=reason).set(0)

    def failed(self, exc: BaseException) -> StoreWriteFailure:
        reason = failure_reason(exc)
        with self._lock:
            before = self._failure
            self._failure = StoreWriteFailure(
                reason=reason,
                detail=" ".join(str(exc).split())[:300],
                since=before.since if before is not None else time.monotonic(),
                attempts=before.attempts + 1 if before is not None else 1,
            )
            for r in REASONS:
                self.gauge.labels(reason=r).set(1 if r == reason else 0)
            return self._failure

    def succeeded(self) -> None:
        with self._lock:
            if self._failure is None:
                return
            self._failure = None
            for r in REASONS:
                self.gauge.labels(reason=r).set(0)

    def failure(self) -> StoreWriteFailure | None:
        """The current run of failed commits, None while commits succeed."""
        with self._lock:
            return self._failure
