"""The commit log: what ingest committed, in commit order, for consumers to read by position.

Ingest appends every batch after the store has it and before the broker is acknowledged:
messages (bound, as stored), fresh statuses and dead letters. Consumers (alerts, fitness
results, live lessons, the device registry) read `since(position)` from their own saved
cursor, so work that follows a reading is a read of what was committed, not a callback that a
crash can skip.

Why a log beside the store rather than the store's own order: InfluxDB has no commit order
to read back (points are ordered by device time, and a late message lands in the past), and
statuses and dead letters are not messages of the store. One small SQLite file serves both
stores alike.

Exactly once into the log: a message is keyed by (school, device_id, seq) and appended with
INSERT OR IGNORE, and ingest appends every message of a batch, duplicates of the store
included. A crash after the store's commit and before the log's leaves the batch
unacknowledged; the broker redelivers it, the store calls it a duplicate, and the log takes it
then, once. A redelivery after both commits is ignored by the log as by the store.

Schema: `commits(position, entry, school, device_id, seq, committed_at, body)`, `entry` one of
`message`, `status`, `dead_letter`, `body` JSON. Durability follows the store's: with
`synchronous=full` every append is fsync'd before the acknowledgement.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from campusedge.contract import Status, TimeQuality
from campusedge.topics import DeviceKind
from gateway.store.base import DeadLetter, StoredMessage, StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS commits (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    entry TEXT NOT NULL,
    school TEXT,
    device_id TEXT,
    seq INTEGER,
    committed_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS commits_message ON commits (school, device_id, seq)
    WHERE entry = 'message';
CREATE INDEX IF NOT EXISTS commits_at ON commits (committed_at);
"""
_INSERT = (
    "INSERT OR IGNORE INTO commits (entry, school, device_id, seq, committed_at, body)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class Committed:
    """One entry of the log: exactly one of message, status (school, status), dead letter."""

    position: int
    message: StoredMessage | None = None
    status: tuple[str, Status] | None = None
    dead_letter: DeadLetter | None = None


class CommitLog:
    """The log in one SQLite file (WAL): one writer (ingest), readers on their own threads."""

    def __init__(
        self, path: str | Path, *, synchronous: Literal["full", "normal"] = "full"
    ) -> None:
        self.path = Path(path)
        self.synchronous = synchronous
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn().executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open commit log {self.path}: {exc}") from exc

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous.upper()}")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def append(
        self,
        messages: Sequence[StoredMessage],
        statuses: Sequence[tuple[str, Status]] = (),
        dead_letters: Sequence[DeadLetter] = (),
    ) -> None:
        """Log a committed batch; a message logged before (a redelivery) is not logged again."""
        if not (messages or statuses or dead_letters):
            return
        now = datetime.now(UTC).isoformat()
        rows: list[tuple[object, ...]] = [
            ("message", m.school, m.device_id, m.seq, now, _message_body(m)) for m in messages
        ]
        rows += [
            ("status", school, s.device_id, None, now, s.model_dump_json())
            for school, s in statuses
        ]
        rows += [
            ("dead_letter", d.school, None, None, now, _dead_letter_body(d)) for d in dead_letters
        ]
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(_INSERT, rows)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"commit log {self.path}: append failed: {exc}") from exc

    def since(self, position: int, limit: int = 500) -> list[Committed]:
        """Entries after *position*, oldest first, at most *limit*."""
        try:
            rows = self._conn().execute(
                "SELECT position, entry, school, device_id, seq, body FROM commits"
                " WHERE position > ? ORDER BY position LIMIT ?",
                (position, limit),
            )
            return [_entry(int(p), str(e), s, d, q, str(b)) for p, e, s, d, q, b in rows]
        except sqlite3.Error as exc:
            raise StoreError(f"commit log {self.path}: read failed: {exc}") from exc

    def messages_between(
        self, committed_since: datetime, up_to: int, *, metric: str | None = None
    ) -> list[StoredMessage]:
        """Messages logged since *committed_since* at positions up to *up_to*; with *metric*
        only those carrying it (a consumer's replay of what it had handled before a stop)."""
        try:
            rows = self._conn().execute(
                "SELECT position, entry, school, device_id, seq, body FROM commits"
                " WHERE committed_at >= ? AND position <= ? AND entry = 'message'"
                " ORDER BY position",
                (committed_since.astimezone(UTC).isoformat(), up_to),
            )
            found = [_entry(int(p), str(e), s, d, q, str(b)) for p, e, s, d, q, b in rows]
        except sqlite3.Error as exc:
            raise StoreError(f"commit log {self.path}: read failed: {exc}") from exc
        return [
            c.message
            for c in found
            if c.message is not None
            and (metric is None or any(name == metric for name, _, _ in c.message.readings))
        ]

    def head(self) -> int:
        """The position of the newest entry (0 when the log is empty)."""
        row = self._conn().execute("SELECT coalesce(max(position), 0) FROM commits").fetchone()
        return int(row[0])

    def prune(self, below: int, before: datetime) -> int:
        """Forget entries every consumer has read (position <= *below*) and logged before
        *before*; the age keeps the keys that absorb a late redelivery for a while."""
        conn = self._conn()
        try:
            cur = conn.execute(
                "DELETE FROM commits WHERE position <= ? AND committed_at < ?",
                (below, before.astimezone(UTC).isoformat()),
            )
            return cur.rowcount
        except sqlite3.Error as exc:
            raise StoreError(f"commit log {self.path}: prune failed: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()


def _message_body(m: StoredMessage) -> str:
    return json.dumps(
        [
            m.kind.value,
            m.ts.isoformat(),
            m.time_quality.value,
            m.received_at.isoformat(),
            m.readings,
            m.event_type,
            m.attributes,
            m.student_id,
            m.lesson_id,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _dead_letter_body(d: DeadLetter) -> str:
    return json.dumps(
        {
            "topic": d.topic,
            "reason": d.reason,
            "detail": d.detail[:1024],
            "received_at": d.received_at.isoformat(),
        },
        ensure_ascii=False,
    )


def _entry(position: int, entry: str, school: Any, device: Any, seq: Any, body: str) -> Committed:
    if entry == "status":
        return Committed(position, status=(str(school), Status.model_validate_json(body)))
    data = json.loads(body)
    if entry == "dead_letter":
        return Committed(
            position,
            dead_letter=DeadLetter(
                school=None if school is None else str(school),
                topic=data["topic"],
                reason=data["reason"],
                detail=data["detail"],
                payload=b"",
                received_at=datetime.fromisoformat(data["received_at"]),
            ),
        )
    kind, ts, quality, received, readings, event_type, attributes, student, lesson = data
    return Committed(
        position,
        message=StoredMessage(
            school=str(school),
            kind=DeviceKind(kind),
            device_id=str(device),
            seq=int(seq),
            ts=datetime.fromisoformat(ts),
            time_quality=TimeQuality(quality),
            received_at=datetime.fromisoformat(received),
            readings=tuple((str(k), float(v), str(u)) for k, v, u in readings),
            event_type=event_type,
            attributes=tuple((str(k), v) for k, v in attributes),
            student_id=student,
            lesson_id=lesson,
        ),
    )
