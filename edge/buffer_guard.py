"""Buffer writes that can fail (a full disk): the agent keeps publishing live meanwhile.

When the buffer's disk is full, SQLite refuses the write. Stopping the agent then would stop
every live reading of the box (a fever at the gate, a heart rate in a lesson) for want of a
copy on disk; instead the agent publishes what it cannot buffer straight away, says in its
status that the buffer is unavailable, and tries the buffer again with the next batch, so
buffering resumes by itself when space returns. What cannot be buffered and finds no broker
is counted as dropped.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterable

from edge.buffer import Buffer, NewMessage

log = logging.getLogger(__name__)


def write_failure(exc: sqlite3.Error) -> str:
    """A short reason for the status: `disk full`, or SQLite's own words."""
    if getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL:
        return "disk full"
    return " ".join(str(exc).split())[:80]


class BufferGuard:
    """Adds to and removes from the buffer; remembers why it could not, until it can."""

    def __init__(self, buffer: Buffer) -> None:
        self.buffer = buffer
        self.unavailable: str | None = None  # why the buffer takes no writes now
        self.since: float | None = None  # time.monotonic() when it stopped taking them
        self._unremoved: set[int] = set()  # acknowledged, but not yet deleted from the file

    def add(self, messages: list[NewMessage], in_flight: set[int]) -> int | None:
        """`Buffer.add`; None when the write failed (the messages are not buffered)."""
        if not messages:
            return 0  # nothing written, so nothing learnt about the disk
        try:
            dropped = self.buffer.add(messages, in_flight)
        except sqlite3.OperationalError as exc:
            self._failed(exc)
            return None
        self._ok()
        return dropped

    def remove(self, ids: Iterable[int]) -> None:
        """Delete acknowledged entries, and those a full disk kept from being deleted before.

        An entry not deleted stays in the file and is published once more after a restart;
        the gateway discards it as a duplicate.
        """
        self._unremoved.update(ids)
        if not self._unremoved:
            return
        try:
            self.buffer.remove(self._unremoved)
        except sqlite3.OperationalError as exc:
            self._failed(exc)
            return
        self._unremoved.clear()
        self._ok()

    def _failed(self, exc: sqlite3.OperationalError) -> None:
        self.buffer.recover_from_failed_write()
        reason = write_failure(exc)
        if self.unavailable is None:
            self.since = time.monotonic()
            log.error(
                "the buffer %s takes no writes (%s): publishing live without a copy on disk "
                "until it does; free space there",
                self.buffer.path,
                reason,
            )
        self.unavailable = reason

    def _ok(self) -> None:
        if self.unavailable is not None:
            log.warning(
                "the buffer %s takes writes again after %.0f s (%s); buffering resumed",
                self.buffer.path,
                time.monotonic() - (self.since or time.monotonic()),
                self.unavailable,
            )
        self.unavailable = None
        self.since = None
