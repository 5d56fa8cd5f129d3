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
`message`, `status`, `dead_letter`, `body` JSON. With the SQLite store, a reading's body is
empty: the log keeps its key, and the store (committed first, in `Ingest._commit`) gives the
message back when a consumer reads it from the file. Writing the copy cost about a tenth of
ingest's CPU per message; the entries consumers read soon after the append come from memory
anyway. A reading the store no longer has (retention, a student's erasure) is skipped then.

Durability follows the store's: with `synchronous=full` every append is fsync'd before the
acknowledgement. Positions grow with commit time, so what is old enough to prune is found from
positions noted at each append.
"""

from __future__ import annotations

import bisect
import json
import logging
import math
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from campusedge.contract import Status, TimeQuality
from campusedge.topics import DeviceKind
from campusedge.words import N_
from gateway.store.base import DeadLetter, StoredMessage, StoreError

log = logging.getLogger(__name__)

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
"""
# JSON of a message body; one encoder for all (json.dumps with options builds one per call).
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_QUOTE = json.encoder.encode_basestring  # a JSON string literal, non-ASCII kept as with _ENCODE
# Entries appended by this process, kept parsed for the consumers: they read what ingest has
# just appended, and would otherwise each parse it again from the file.
RECENT_ENTRIES = 20_000
# Page cache of the connection that appends (negative: KiB), for the key index.
APPENDER_CACHE = -16000
_INSERT = (
    "INSERT OR IGNORE INTO commits (entry, school, device_id, seq, committed_at, body)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


class MessageSource(Protocol):
    """A store that gives stored messages back by key (the SQLite store)."""

    def finds_by_key(self, m: StoredMessage) -> bool: ...

    def stored_readings(
        self, keys: Iterable[tuple[str, str, int]]
    ) -> dict[tuple[str, str, int], StoredMessage]: ...


@dataclass(frozen=True)
class Committed:
    """One entry of the log: exactly one of message, status (school, status), dead letter;
    or none, for a reading logged by key that the store no longer has (erased, or past its
    retention): kept as its position, so that a consumer's cursor moves past it."""

    position: int
    message: StoredMessage | None = None
    status: tuple[str, Status] | None = None
    dead_letter: DeadLetter | None = None


class CommitLog:
    """The log in one SQLite file (WAL): one writer (ingest), readers on their own threads."""

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Literal["full", "normal"] = "full",
        source: MessageSource | None = None,
    ) -> None:
        self.path = Path(path)
        # Where readings logged by key are read back; without it they are logged as copies.
        self.source = source
        # Entries logged by key that the source no longer had when they were read.
        self.skipped = 0
        self.synchronous = synchronous
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # Every entry after position `_covered_after` is in `_recent` (in order), once this
        # process has appended: positions may skip (an ignored redelivery uses one up).
        self._recent: list[Committed] = []
        self._covered_after: int | None = None
        self._recent_lock = threading.Lock()
        # (monotonic time, head position) after each append, for pruning by age.
        self._heads: deque[tuple[float, int]] = deque()
        # The highest position used, once this process has appended (it alone appends): the
        # consumers ask after every step for their lag, and need no query for it.
        self._head: int | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn().executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                N_("cannot open commit log {path}: {reason}"), path=self.path, reason=exc
            ) from exc

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous.upper()}")
            # As in the SQLite store: checkpointing every ~40 MB of WAL rather than 4 MB means
            # fewer fsyncs of the main file; the key index stays in memory in the appending
            # connection's cache (append), readers keep SQLite's default of 2 MB.
            conn.execute("PRAGMA wal_autocheckpoint=10000")
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
        source = self.source
        rows: list[tuple[object, ...]] = [
            (
                "message",
                m.school,
                m.device_id,
                m.seq,
                now,
                "" if source is not None and source.finds_by_key(m) else _message_body(m),
            )
            for m in messages
        ]
        rows += [
            ("status", school, s.device_id, None, now, s.model_dump_json())
            for school, s in statuses
        ]
        rows += [
            ("dead_letter", d.school, None, None, now, _dead_letter_body(d)) for d in dead_letters
        ]
        conn = self._conn()
        if not getattr(self._local, "appends", False):
            # Every thread has a connection of its own and each cache fills up to its size
            # over a long run (7 at 16 MB each were 112 MB in a soak's gateway): only the
            # appending one needs a large one.
            conn.execute(f"PRAGMA cache_size={APPENDER_CACHE}")
            self._local.appends = True
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                before = self._sequence(conn)
                changes = conn.total_changes
                conn.executemany(_INSERT, rows)
                inserted = conn.total_changes - changes
                head = self._sequence(conn)
                if inserted == len(rows) and head == before + inserted:
                    # Nothing was a redelivery: the rows took the next positions in order.
                    added = None
                else:
                    # The rows above `before` are this append's (the write lock is held):
                    # which messages were new, at which positions, in one range scan.
                    added = conn.execute(
                        "SELECT position, entry, school, device_id, seq FROM commits"
                        " WHERE position > ? ORDER BY position",
                        (before,),
                    ).fetchall()
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"commit log {self.path}: append failed: {exc}") from exc
        self._head = head
        self._remember(before, added, messages, statuses, dead_letters)

    @staticmethod
    def _sequence(conn: sqlite3.Connection) -> int:
        """The highest position ever used (an ignored redelivery uses one up too)."""
        row = conn.execute(
            "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'commits'), 0)"
        ).fetchone()
        return int(row[0])

    def _remember(
        self,
        before: int,
        added: list[tuple[Any, ...]] | None,
        messages: Sequence[StoredMessage],
        statuses: Sequence[tuple[str, Status]],
        dead_letters: Sequence[DeadLetter],
    ) -> None:
        """Keep this append's entries parsed, by position: *added* holds the rows the log took
        (position, entry, school, device_id, seq), None when it took every row in order.
        Statuses and dead letters are never ignored, so they come back in the order they
        went in."""
        entries: list[Committed]
        if added is None:
            position = before + len(messages)
            entries = [Committed(before + 1 + i, message=m) for i, m in enumerate(messages)]
            entries += [Committed(position + 1 + i, status=s) for i, s in enumerate(statuses)]
            position += len(statuses)
            entries += [
                Committed(position + 1 + i, dead_letter=_as_logged(d))
                for i, d in enumerate(dead_letters)
            ]
        else:
            entries = self._added(added, messages, statuses, dead_letters)
        with self._recent_lock:
            if self._covered_after is None:
                self._covered_after = before
            self._recent.extend(entries)
            excess = len(self._recent) - RECENT_ENTRIES
            if excess > 0:
                self._covered_after = self._recent[excess - 1].position
                del self._recent[:excess]
            if entries:
                self._heads.append((time.monotonic(), entries[-1].position))

    @staticmethod
    def _added(
        added: list[tuple[Any, ...]],
        messages: Sequence[StoredMessage],
        statuses: Sequence[tuple[str, Status]],
        dead_letters: Sequence[DeadLetter],
    ) -> list[Committed]:
        by_key = {(m.school, m.device_id, m.seq): m for m in messages}
        status_queue, letter_queue = iter(statuses), iter(dead_letters)
        entries: list[Committed] = []
        for position, entry, school, device_id, seq in added:
            if entry == "message":
                entries.append(Committed(position, message=by_key[school, device_id, seq]))
            elif entry == "status":
                entries.append(Committed(position, status=next(status_queue)))
            else:
                entries.append(Committed(position, dead_letter=_as_logged(next(letter_queue))))
        return entries

    def since(self, position: int, limit: int = 500) -> list[Committed]:
        """Entries after *position*, oldest first, at most *limit*."""
        with self._recent_lock:
            if self._covered_after is not None and position >= self._covered_after:
                start = bisect.bisect_right(self._recent, position, key=lambda e: e.position)
                return self._recent[start : start + limit]
        try:
            rows = self._conn().execute(
                "SELECT position, entry, school, device_id, seq, body FROM commits"
                " WHERE position > ? ORDER BY position LIMIT ?",
                (position, limit),
            )
            return self._entries(rows.fetchall())
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
            found = self._entries(rows.fetchall())
        except sqlite3.Error as exc:
            raise StoreError(f"commit log {self.path}: read failed: {exc}") from exc
        return [
            c.message
            for c in found
            if c.message is not None
            and (metric is None or any(name == metric for name, _, _ in c.message.readings))
        ]

    def _entries(self, rows: list[tuple[Any, ...]]) -> list[Committed]:
        """Entries of rows (position, entry, school, device_id, seq, body), the readings
        logged by key read back from the source."""
        keys = [(str(s), str(d), int(q)) for _, e, s, d, q, b in rows if e == "message" and not b]
        kept = self.source.stored_readings(keys) if keys and self.source is not None else {}
        out: list[Committed] = []
        missing: list[int] = []
        for position, entry, school, device, seq, body in rows:
            if entry == "message" and not body:
                message = kept.get((str(school), str(device), int(seq)))
                if message is None:
                    missing.append(int(position))
                out.append(Committed(int(position), message=message))
            else:
                out.append(_entry(int(position), str(entry), school, device, seq, str(body)))
        if missing:
            # Once a read: a consumer days behind a retention sweep meets thousands of them.
            self.skipped += len(missing)
            log.warning(
                "commit log %s: %d reading(s) logged by key are no longer in the store"
                " (retention, or a student's erasure), positions %d to %d; skipped",
                self.path,
                len(missing),
                missing[0],
                missing[-1],
            )
        return out

    def head(self) -> int:
        """The position of the newest entry ever appended (0 for a new log), pruned or not."""
        if self._head is not None:
            return self._head
        return self._sequence(self._conn())

    def prune(self, below: int, age_s: float) -> int:
        """Forget entries every consumer has read (position <= *below*) and appended at least
        *age_s* seconds ago; the age keeps the keys that absorb a late redelivery for a while.
        (Entries from before this process started count as appended at its first append.)"""
        cutoff = time.monotonic() - age_s
        old_enough = 0
        with self._recent_lock:
            while self._heads and self._heads[0][0] <= cutoff:
                old_enough = self._heads.popleft()[1]
            if old_enough:
                self._heads.appendleft((cutoff, old_enough))  # still old enough next time
        upto = min(below, old_enough)
        if upto <= 0:
            return 0
        conn = self._conn()
        try:
            cur = conn.execute("DELETE FROM commits WHERE position <= ?", (upto,))
        except sqlite3.Error as exc:
            raise StoreError(f"commit log {self.path}: prune failed: {exc}") from exc
        with self._recent_lock:
            if self._covered_after is not None:
                start = bisect.bisect_right(self._recent, upto, key=lambda e: e.position)
                del self._recent[:start]
                self._covered_after = max(self._covered_after, upto)
        return cur.rowcount

    def forget_student(self, student_id: str) -> int:
        """Remove the copies of messages bound to *student_id* (a student's erasure); returns
        how many. A consumer that had not read them yet never will: erasure wins over
        processing. (Readings logged by key hold no copy: the store's erasure removes what
        they point at, and a consumer that reads them later skips them.)"""
        try:
            cur = self._conn().execute(
                "DELETE FROM commits WHERE entry = 'message'"
                " AND CASE WHEN body = '' THEN NULL ELSE json_extract(body, '$[7]') END = ?",
                (student_id,),
            )
        except sqlite3.Error as exc:
            raise StoreError(f"commit log {self.path}: erasure failed: {exc}") from exc
        with self._recent_lock:
            self._recent = [
                e for e in self._recent if e.message is None or e.message.student_id != student_id
            ]
        return cur.rowcount

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()


def _message_body(m: StoredMessage) -> str:
    if m.event_type is None and not m.attributes:
        # A reading (nearly every message): written out directly, which takes a third less
        # time than building the list for the encoder. Strings go through the encoder's own
        # quoting; a value JSON cannot hold (none passes the contract) takes the general
        # path below.
        try:
            readings = ",".join(
                [f"[{_QUOTE(k)},{_number(v)},{_QUOTE(u)}]" for k, v, u in m.readings]
            )
        except ValueError:
            pass
        else:
            return (
                f'[{_QUOTE(m.kind.value)},"{m.ts.isoformat()}",{_QUOTE(m.time_quality.value)},'
                f'"{m.received_at.isoformat()}",[{readings}],null,[],'
                f"{_optional(m.student_id)},{_optional(m.lesson_id)}]"
            )
    return _ENCODE(
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
        ]
    )


def _number(value: float) -> str:
    """*value* as the JSON encoder writes a float; ValueError for what JSON cannot hold."""
    if not math.isfinite(value):
        raise ValueError(value)
    return float.__repr__(float(value))


def _optional(text: str | None) -> str:
    return "null" if text is None else _QUOTE(text)


# Of a dead letter's detail, the log keeps this much (the store keeps it all).
DEAD_LETTER_DETAIL_CHARS = 1024


def _as_logged(d: DeadLetter) -> DeadLetter:
    """A dead letter as the log holds it: without its payload (up to 64 KiB, in the store)
    and with the detail cut as in the file. Kept whole in the window of recent entries, each
    burst of large bad payloads stayed in memory for as long as the window held it."""
    return replace(d, payload=b"", detail=d.detail[:DEAD_LETTER_DETAIL_CHARS])


def _dead_letter_body(d: DeadLetter) -> str:
    return json.dumps(
        {
            "topic": d.topic,
            "reason": d.reason,
            "detail": d.detail[:DEAD_LETTER_DETAIL_CHARS],
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
