"""Buffer writes that can fail (a full disk): the agent keeps publishing live meanwhile.

When the buffer's disk is full, SQLite refuses the write. Stopping the agent then would stop
every live reading of the box (a fever at the gate, a heart rate in a lesson) for want of a
copy on disk; instead the agent publishes what it cannot buffer straight away, says in its
status that the buffer is unavailable, and tries the buffer again with the next batch, so
buffering resumes by itself when space returns. What cannot be buffered and finds no broker
is counted as dropped.

An agent started while the disk is full cannot even open its file (SQLite must create the
WAL index beside it): it then buffers in memory, bounded, and opens the file as soon as it
can, moving into it what the memory holds. A fresh buffer numbers each device from the wall
clock, above anything the file's numbering reached (see `edge.buffer`), so numbers made in
memory never repeat the file's.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from edge.buffer import Buffer, BufferOpenError, NewMessage

log = logging.getLogger(__name__)

# The memory buffer is bounded well below the agent's memory limit (256 MB in the unit).
MEMORY_BUFFER_BYTES = 8 * 1024 * 1024
REOPEN_EVERY_S = 5.0
# Below this much free space an I/O error in opening the file is taken for a full disk.
NEARLY_FULL_BYTES = 1024 * 1024


def write_failure(exc: sqlite3.Error) -> str:
    """A short reason for the status: `disk full`, or SQLite's own words."""
    if getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL:
        return "disk full"
    return " ".join(str(exc).split())[:80]


def open_failure(exc: BufferOpenError) -> str | None:
    """Why the file cannot be opened when the disk is to blame (full, failing), else None:
    a missing folder or a wrong owner is a configuration error to stop on."""
    cause = exc.__cause__
    if not isinstance(cause, sqlite3.OperationalError):
        return None
    code = getattr(cause, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_FULL:
        return "disk full"
    if code == sqlite3.SQLITE_IOERR:
        # An existing WAL file on a full disk fails in creating its -shm index, as I/O.
        try:
            stat = os.statvfs(exc.path.parent)
        except OSError:
            return "disk I/O error"
        return (
            "disk full" if stat.f_bavail * stat.f_frsize < NEARLY_FULL_BYTES else "disk I/O error"
        )
    return None


def open_buffer(path: Path, max_bytes: int) -> BufferGuard:
    """The buffer file, or a memory buffer while the disk keeps the file from opening."""
    try:
        return BufferGuard(Buffer(path, max_bytes))
    except BufferOpenError as exc:
        reason = open_failure(exc)
        if reason is None:
            raise
        log.error(
            "%s (%s): buffering in memory, at most %d bytes and lost if the agent stops, "
            "until the file can be opened; free space there",
            exc,
            reason,
            min(max_bytes, MEMORY_BUFFER_BYTES),
        )
        memory = Buffer(":memory:", min(max_bytes, MEMORY_BUFFER_BYTES))
        return BufferGuard(memory, file=(path, max_bytes), reason=reason)


class BufferGuard:
    """Adds to and removes from the buffer; remembers why it could not, until it can."""

    def __init__(
        self,
        buffer: Buffer,
        *,
        file: tuple[Path, int] | None = None,
        reason: str | None = None,
    ) -> None:
        self.buffer = buffer
        self._file = file  # set while running on a memory buffer instead of this file
        self._memory_reason = reason
        self._failing: str | None = None  # why the last write failed
        self.since: float | None = time.monotonic() if file is not None else None
        self._next_reopen = time.monotonic() + REOPEN_EVERY_S
        self._unremoved: set[int] = set()  # acknowledged, but not yet deleted from the file

    @property
    def in_memory(self) -> bool:
        return self._file is not None

    @property
    def unavailable(self) -> str | None:
        """Why the buffer file takes no writes now, None while it does."""
        if self._failing is not None:
            return self._failing
        if self._memory_reason is not None:
            return f"{self._memory_reason}, buffering in memory"
        return None

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

    def reopen(self) -> Buffer | None:
        """On a memory buffer: try the file (every few seconds); when it opens, move what the
        memory holds into it and return it, now the buffer. Entries then in flight are
        published again from the file, and the gateway discards the duplicates."""
        if self._file is None or time.monotonic() < self._next_reopen:
            return None
        self._next_reopen = time.monotonic() + REOPEN_EVERY_S
        path, max_bytes = self._file
        try:
            file = Buffer(path, max_bytes)
        except BufferOpenError as exc:
            self._memory_reason = open_failure(exc) or exc.reason
            return None
        try:
            dropped = file.take_over(self.buffer)
        except sqlite3.OperationalError as exc:
            # Opened, but no room for what the memory holds yet.
            file.recover_from_failed_write()
            file.close()
            self._memory_reason = write_failure(exc)
            return None
        moved = self.buffer.count
        self.buffer.close()
        self.buffer, self._file, self._memory_reason = file, None, None
        self._unremoved.clear()  # ids of the memory buffer, which is gone
        log.warning(
            "the buffer %s is open again after %.0f s: %d message(s) moved in from memory%s",
            path,
            time.monotonic() - (self.since or time.monotonic()),
            moved,
            f", {dropped} dropped for its bound" if dropped else "",
        )
        self._ok()
        return file

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
        self._failing = reason

    def _ok(self) -> None:
        if self._failing is not None:
            log.warning(
                "the buffer %s takes writes again after %.0f s (%s); buffering resumed",
                self.buffer.path,
                time.monotonic() - (self.since or time.monotonic()),
                self._failing,
            )
        self._failing = None
        if self._file is None:
            self.since = None
