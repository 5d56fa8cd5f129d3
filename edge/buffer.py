"""Store-and-forward buffer on disk (SQLite): nothing is lost while the broker is away.

Every message is written here before it is published and deleted only when its PUBACK
arrives, so a broker outage or an agent restart loses nothing; messages go out in the order
they were written. The per-device sequence counters live in the same file and are advanced
in the same transaction as the messages, so a restarted agent never reuses a sequence
number (the gateway deduplicates on device id and sequence number).

A buffer that has no counter yet for a device (a new box, a re-imaged one, a band kit moved
to another box, a simulator's fresh folder) starts that device at the wall-clock time in
milliseconds, not at 0: an earlier buffer that numbered the same device started at its own,
earlier time and used one number per message, far fewer than one a millisecond, so the new
numbers lie above every number it used and the gateway stores them instead of discarding
them as duplicates. The start stays far below 2**53 (exact in JSON) until the year 287396.
A box clock that is merely wrong keeps this safe unless its reading lands inside the few
numbers an earlier buffer used; a clock that was never set (before `CLOCK_FLOOR_MS`, e.g.
1970 after a boot without a real-time clock or NTP) would make every such box start at the
same numbers, so the start is then drawn at random above the floor, and a warning is logged.

Bound and drop policy: the payload bytes kept are bounded by `max_bytes`. When a write
would exceed it, the oldest *readings* (telemetry) that are not in flight are deleted first;
events (rope results, gate passes, screening records) are deleted, oldest first, only when
no reading is left to drop. Each drop is counted, and the count is reported in the edge
box's status, so an operator sees that data was shed.

Damage: a buffer file that SQLite finds damaged, on opening (a quick check) or while running
(a "malformed" error), is moved aside as `<name>.damaged-<UTC time>` with its WAL, what can
still be read from it is carried into a fresh buffer (`campusedge.sqlite_salvage`), and the
agent goes on; each repair is logged, counted and kept in `repairs` for the box's status. A
zero-length file is treated the same way (reported, not silently reused as a new buffer).
"""

from __future__ import annotations

import json
import logging
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from campusedge import sqlite_salvage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    is_event INTEGER NOT NULL
);
-- The gateway's stored watermark deletes a device's entries up to a seq.
CREATE INDEX IF NOT EXISTS outbox_device_seq ON outbox (device_id, seq);
CREATE TABLE IF NOT EXISTS seqs (device_id TEXT PRIMARY KEY, next INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

log = logging.getLogger(__name__)
T = TypeVar("T")

# 2026-01-01T00:00:00Z: a box clock reading earlier than this has never been set.
CLOCK_FLOOR_MS = 1_767_225_600_000
# An unset clock's start is drawn from [floor, floor + 2**32 ms) (about 50 days): two such
# buffers of a million messages each overlap with a chance of about 1 in 2000.
UNSET_CLOCK_SPREAD_MS = 2**32


def wall_clock_ms() -> int:
    """The box's wall-clock time in milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def first_seq(now_ms: int, rng: random.Random) -> int:
    """The first sequence number a fresh buffer gives a device, at wall-clock *now_ms*."""
    if now_ms >= CLOCK_FLOOR_MS:
        return now_ms
    return CLOCK_FLOOR_MS + rng.randrange(UNSET_CLOCK_SPREAD_MS)


class BufferOpenError(Exception):
    """The buffer file cannot be created or opened (folder missing or not writable, not SQLite)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot open the buffer {path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class Repair:
    """A damaged buffer file that was moved aside and rebuilt from what could be read."""

    at: datetime
    reason: str
    moved_to: Path
    recovered: int  # buffered messages carried over
    summary: str


@dataclass(frozen=True)
class Entry:
    """One buffered message."""

    id: int
    device_id: str
    seq: int
    topic: str
    payload: bytes


@dataclass(frozen=True)
class NewMessage:
    device_id: str
    seq: int
    topic: str
    payload: bytes
    is_event: bool


class Buffer:
    """The outbox. Not thread-safe: the agent's main loop owns it."""

    def __init__(
        self,
        path: Path | str,
        max_bytes: int,
        clock_ms: Callable[[], int] = wall_clock_ms,
        rng: random.Random | None = None,
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._clock_ms = clock_ms
        self._rng = rng or random.Random()
        self.repairs: list[Repair] = []
        self._seqs: dict[str, int] = {}
        self.count = 0
        self.bytes = 0
        try:
            problem = sqlite_salvage.check(self.path)
        except (OSError, sqlite3.Error) as exc:
            raise BufferOpenError(self.path, str(exc)) from exc
        if problem is not None and sqlite_salvage.foreign(self.path):
            raise BufferOpenError(
                self.path,
                f"{problem}: not a SQLite file, nor a damaged one, so it was left as it is",
            )
        if problem is not None:
            self._db = self._rebuild(problem)
        else:
            self._db = self._open(self.path)
            self._guard(self._load)
        self.max_count = self.count

    def _load(self) -> None:
        """Counters and totals from the file (kept sequence numbers never go back)."""
        for device_id, nxt in self._db.execute("SELECT device_id, next FROM seqs"):
            self._seqs[device_id] = max(nxt, self._seqs.get(device_id, nxt))
        row = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox"
        ).fetchone()
        self.count = row[0]
        self.bytes = row[1]

    def _rebuild(self, problem: str) -> sqlite3.Connection:
        """Move the damaged file aside, carry what reads into a fresh one; return it open."""
        try:
            aside = sqlite_salvage.move_aside(self.path)
        except OSError as exc:
            raise BufferOpenError(
                self.path, f"it is damaged ({problem}) and cannot be moved aside: {exc}"
            ) from exc
        db = self._open(self.path)
        try:
            if aside.stat().st_size:
                salvage = sqlite_salvage.salvage(aside, db)
                summary = salvage.summary()
            else:
                summary = "nothing to recover"
        except (OSError, sqlite3.Error) as exc:
            # Nothing more can be had from it; the fresh buffer is still better than none.
            summary = f"recovery failed: {exc}"
        self._db = db
        # A device's next number is above every number still buffered for it; a device whose
        # counter was lost starts from the wall clock again, above all it used (see the top).
        db.execute(
            "UPDATE seqs SET next = MAX(next, (SELECT MAX(seq) + 1 FROM outbox "
            "WHERE outbox.device_id = seqs.device_id)) "
            "WHERE EXISTS (SELECT 1 FROM outbox WHERE outbox.device_id = seqs.device_id)"
        )
        self._load()
        repair = Repair(datetime.now(UTC), problem[:200], aside, self.count, summary)
        self.repairs.append(repair)
        log.error(
            "the buffer %s was damaged (%s): kept as %s; %s; %d messages carried over "
            "(buffer repair %d since start)",
            self.path,
            repair.reason,
            aside.name,
            summary,
            repair.recovered,
            len(self.repairs),
        )
        return db

    def _guard(self, op: Callable[[], T]) -> T:
        """Run *op*; when it finds the file damaged, rebuild the buffer and run it once more."""
        try:
            return op()
        except sqlite3.DatabaseError as exc:
            if not sqlite_salvage.is_damage(exc):
                raise
            problem = str(exc)
        self._db.close()
        self._db = self._rebuild(problem)
        return op()

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        """Create the folder and the file; BufferOpenError saying why when that fails."""
        db = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Built by whoever constructs the agent, then used only by its main loop thread.
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            # WAL with synchronous=NORMAL survives an agent crash (the case that matters on an
            # edge box); a power cut may lose the last commits, which the device would resend
            # anyway only if it had its own buffer.
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            if db is not None:
                db.close()
            reason = str(exc)
            if isinstance(exc, FileExistsError | NotADirectoryError):
                reason = f"{exc.filename} is a file, not a folder"
            elif isinstance(exc, OSError) and exc.strerror and exc.filename:
                reason = f"{exc.strerror}: {exc.filename}"
            elif (
                isinstance(exc, sqlite3.Error)
                and path.parent.is_dir()
                and not os.access(path.parent, os.W_OK | os.X_OK)
            ):
                # SQLite only says "unable to open database file".
                reason = f"{reason} (the folder {path.parent} is not writable)"
            raise BufferOpenError(path, reason) from exc
        return db

    def close(self) -> None:
        self._db.close()

    def next_seq(self, device_id: str) -> int:
        """Reserve the next sequence number of *device_id* (persisted by `add`).

        A device this buffer has not numbered yet starts at `first_seq` (see the module
        docstring for why not at 0).
        """
        seq = self._seqs.get(device_id)
        if seq is None:
            now_ms = self._clock_ms()
            seq = first_seq(now_ms, self._rng)
            if seq != now_ms:
                log.warning(
                    "the box clock reads %d ms since the epoch, before %d: it was never "
                    "set; numbering %s from the random start %d. Sync the clock (NTP) "
                    "before the agent starts, or an earlier box's numbers may repeat "
                    "and be discarded as duplicates",
                    now_ms,
                    CLOCK_FLOOR_MS,
                    device_id,
                    seq,
                )
        self._seqs[device_id] = seq + 1
        return seq

    def add(self, messages: Iterable[NewMessage], in_flight: set[int] | None = None) -> int:
        """Write *messages* and the sequence counters in one transaction; return drops."""
        rows = [(m.device_id, m.seq, m.topic, m.payload, int(m.is_event)) for m in messages]
        if not rows:
            return 0
        return self._guard(lambda: self._add(rows, in_flight or set()))

    def _add(self, rows: list[tuple[str, int, str, bytes, int]], in_flight: set[int]) -> int:
        devices = {r[0] for r in rows}
        count, size = self.count, self.bytes
        try:
            return self._add_rows(rows, devices, in_flight)
        except BaseException:
            self.count, self.bytes = count, size  # rolled back
            raise

    def _add_rows(
        self, rows: list[tuple[str, int, str, bytes, int]], devices: set[str], in_flight: set[int]
    ) -> int:
        with self._transaction():
            self._db.executemany(
                "INSERT INTO outbox (device_id, seq, topic, payload, is_event) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            self._db.executemany(
                "INSERT INTO seqs (device_id, next) VALUES (?, ?) "
                "ON CONFLICT(device_id) DO UPDATE SET next = excluded.next",
                [(d, self._seqs[d]) for d in devices],
            )
            self.count += len(rows)
            self.bytes += sum(len(r[3]) for r in rows)
            dropped = self._enforce_bound(in_flight)
        self.max_count = max(self.max_count, self.count)
        return dropped

    def _enforce_bound(self, in_flight: set[int]) -> int:
        dropped = 0
        for is_event in (0, 1):
            while self.bytes > self.max_bytes:
                batch = self._db.execute(
                    "SELECT id, LENGTH(payload) FROM outbox WHERE is_event = ? "
                    "ORDER BY id LIMIT 500",
                    (is_event,),
                ).fetchall()
                victims = [(i, n) for i, n in batch if i not in in_flight]
                if not victims:
                    break
                freed = 0
                take = []
                for i, n in victims:
                    if self.bytes - freed <= self.max_bytes:
                        break
                    take.append(i)
                    freed += n
                self._db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in take])
                self.count -= len(take)
                self.bytes -= freed
                dropped += len(take)
        if dropped:
            self._db.execute(
                "INSERT INTO counters VALUES ('dropped', ?) ON CONFLICT(name) "
                "DO UPDATE SET value = value + excluded.value",
                (dropped,),
            )
        return dropped

    def pending(self, after_id: int, limit: int) -> list[Entry]:
        """Entries written after *after_id*, oldest first."""
        rows = self._guard(
            lambda: self._db.execute(
                "SELECT id, device_id, seq, topic, payload FROM outbox WHERE id > ? "
                "ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        )
        return [Entry(*r) for r in rows]

    def oldest_timestamp(self) -> datetime | None:
        """The timestamp of the oldest buffered message (from its payload), or None if empty."""
        row = self._guard(
            lambda: self._db.execute("SELECT payload FROM outbox ORDER BY id LIMIT 1").fetchone()
        )
        if row is None:
            return None
        try:
            return datetime.fromisoformat(json.loads(row[0])["ts"])
        except (ValueError, KeyError, TypeError):
            return None  # the agent wrote it, so this is not expected; no age rather than none

    def remove(self, ids: Iterable[int]) -> None:
        """Delete acknowledged entries."""
        keys = [(i,) for i in ids]
        if keys:
            # A repair keeps the ids of the messages it carries over, so removal still finds them.
            self._guard(lambda: self._remove(keys))

    def _remove(self, keys: list[tuple[int]]) -> None:
        with self._transaction():
            sizes = 0
            removed = 0
            for (i,) in keys:
                row = self._db.execute(
                    "DELETE FROM outbox WHERE id = ? RETURNING LENGTH(payload)", (i,)
                ).fetchone()
                if row is not None:
                    sizes += row[0]
                    removed += 1
            self.count -= removed
            self.bytes -= sizes

    def get(self, ids: Iterable[int]) -> list[Entry]:
        """The entries among *ids* still in the buffer, oldest first."""
        return self._guard(lambda: self._get(list(ids)))

    def _get(self, wanted: list[int]) -> list[Entry]:
        out: list[Entry] = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            out += [
                Entry(*r)
                for r in self._db.execute(
                    "SELECT id, device_id, seq, topic, payload FROM outbox WHERE id IN "
                    f"({','.join('?' * len(chunk))})",
                    chunk,
                )
            ]
        return sorted(out, key=lambda e: e.id)

    def remove_through(self, device_id: str, seq: int) -> int:
        """Delete *device_id*'s entries up to *seq* (the gateway has them); how many."""
        return self._guard(lambda: self._remove_through(device_id, seq))

    def _remove_through(self, device_id: str, seq: int) -> int:
        with self._transaction():
            row = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox "
                "WHERE device_id = ? AND seq <= ?",
                (device_id, seq),
            ).fetchone()
            if row[0]:
                self._db.execute(
                    "DELETE FROM outbox WHERE device_id = ? AND seq <= ?", (device_id, seq)
                )
                self.count -= row[0]
                self.bytes -= row[1]
        return int(row[0])

    def recover_from_failed_write(self) -> None:
        """After a write that raised (a full disk): end the transaction SQLite may have left
        open, and count again what the file holds, which the failed write may have moved."""
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
        row = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox"
        ).fetchone()
        self.count, self.bytes = row[0], row[1]

    def take_over(self, other: Buffer) -> int:
        """Move *other*'s entries into this buffer, after its own, and persist every device's
        counter as the higher of the two; return drops. *other* is the memory buffer the agent
        ran on while this file could not be opened (a full disk)."""
        rows = other._db.execute(
            "SELECT device_id, seq, topic, payload, is_event FROM outbox ORDER BY id"
        ).fetchall()
        for device, following in other._seqs.items():
            self._seqs[device] = max(self._seqs.get(device, following), following)
        with self._transaction():
            self._db.executemany(
                "INSERT INTO outbox (device_id, seq, topic, payload, is_event) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            self._db.executemany(
                "INSERT INTO seqs (device_id, next) VALUES (?, ?) "
                "ON CONFLICT(device_id) DO UPDATE SET next = excluded.next",
                list(self._seqs.items()),
            )
            self.count += len(rows)
            self.bytes += sum(len(r[3]) for r in rows)
            dropped = self._enforce_bound(set())
        self.max_count = max(self.max_count, self.count)
        return dropped

    def dropped_total(self) -> int:
        row = self._guard(
            lambda: self._db.execute("SELECT value FROM counters WHERE name = 'dropped'").fetchone()
        )
        return int(row[0]) if row else 0

    def _transaction(self) -> _Tx:
        return _Tx(self._db)


class _Tx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        elif self._db.in_transaction:
            # SQLite may have rolled back already (it does on some errors, damage among them).
            self._db.execute("ROLLBACK")
