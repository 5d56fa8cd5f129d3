"""The default store: one SQLite file in WAL mode, idempotent on (school, device_id, seq).

Schema (other tools read it directly, so the names are part of the interface):

- `messages(device_id, seq, school, kind, ts, time_quality, received_at, event_type,
  attributes, event_readings, student_id, lesson_id)`, primary key (school, device_id, seq);
  `attributes` is a JSON object or NULL; an event also keeps its readings as a JSON list of
  [metric, value, unit] in `event_readings`, so that listing events needs no look-up in
  `readings` (which has no index for that, and would need one on every insert);
  `student_id` and `lesson_id` are the binding at the message's time, NULL when unbound;
- `readings(device_id, seq, metric, value, unit, ts, school)`: one row per value, `ts` copied
  from the message so that (device_id, metric, ts) and (metric, ts) queries use an index alone;
- `dead_letters(id, school, topic, reason, detail, payload, received_at)`;
- `devices(device_id, school, kind, last_seq, last_ts, last_received_at)`, primary key
  (school, device_id): the newest message per device, kept up to date inside the write
  transaction so that fleet views need no scan.

A file made before the school was part of the key (primary key (device_id, seq)) is upgraded
in place when it is opened, in one transaction: device ids are unique per school only, and
`hr-01` seq 1000 of one school must not make another school's `hr-01` seq 1000 a duplicate.

Timestamps are ISO-8601 UTC text with a fixed width (`2026-09-01T08:00:00.000000Z`), so that
text order is time order and `sqlite3` users can read them.

Durability: WAL with `synchronous=FULL` by default — the WAL is fsync'd at every commit, so an
acknowledged batch survives a process kill and a power loss. `synchronous=NORMAL` (URL option
`?synchronous=normal`) skips that fsync: still safe against a kill -9 of the process (the
committed frames are in the OS page cache), but a power loss can drop the last commits. One
commit covers a whole batch, so FULL costs one fsync per batch, not per message.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from campusedge.contract import TimeQuality
from campusedge.topics import DeviceKind
from campusedge.units import Metric
from campusedge.words import N_
from gateway.store.base import (
    DEAD_LETTER_PAYLOAD_BYTES,
    DeadLetter,
    DeviceSeen,
    EventRow,
    ReadingRow,
    Scalar,
    StoredMessage,
    StoreError,
    WriteResult,
)

Synchronous = Literal["full", "normal"]

# Page cache of the connection that writes (negative: KiB); readers keep SQLite's 2 MB.
WRITER_CACHE = -32000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    school TEXT NOT NULL,
    kind TEXT NOT NULL,
    ts TEXT NOT NULL,
    time_quality TEXT NOT NULL,
    received_at TEXT NOT NULL,
    event_type TEXT,
    attributes TEXT,
    event_readings TEXT,
    student_id TEXT,
    lesson_id TEXT,
    PRIMARY KEY (school, device_id, seq)
);
CREATE INDEX IF NOT EXISTS messages_event ON messages (event_type, ts)
    WHERE event_type IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_event_device ON messages (device_id, ts)
    WHERE event_type IS NOT NULL;
CREATE TABLE IF NOT EXISTS readings (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    unit TEXT NOT NULL,
    ts TEXT NOT NULL,
    school TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS readings_device_metric_ts ON readings (device_id, metric, ts);
CREATE INDEX IF NOT EXISTS readings_metric_ts ON readings (metric, ts);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    school TEXT,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    payload BLOB NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_received ON dead_letters (received_at);
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT NOT NULL,
    school TEXT NOT NULL,
    kind TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    last_ts TEXT NOT NULL,
    last_received_at TEXT NOT NULL,
    PRIMARY KEY (school, device_id)
);
"""

# From the first schema, keyed (device_id, seq), to the school-keyed one. Readings learn their
# school from their message while the old key can still find it; the tables whose primary key
# changes are rebuilt (SQLite cannot alter a key), keeping every rowid.
_UPGRADE_SCHOOL_KEY = """
ALTER TABLE readings ADD COLUMN school TEXT NOT NULL DEFAULT '';
UPDATE readings SET school = coalesce((SELECT m.school FROM messages m
    WHERE m.device_id = readings.device_id AND m.seq = readings.seq), '');
DROP INDEX IF EXISTS messages_event;
DROP INDEX IF EXISTS messages_event_device;
ALTER TABLE messages RENAME TO messages_v1;
ALTER TABLE devices RENAME TO devices_v1;
"""
_UPGRADE_COPY = """
INSERT INTO messages (rowid, device_id, seq, school, kind, ts, time_quality, received_at,
    event_type, attributes, event_readings)
    SELECT rowid, device_id, seq, school, kind, ts, time_quality, received_at, event_type,
    attributes, event_readings FROM messages_v1;
INSERT INTO devices (device_id, school, kind, last_seq, last_ts, last_received_at)
    SELECT device_id, school, kind, last_seq, last_ts, last_received_at FROM devices_v1;
DROP TABLE messages_v1;
DROP TABLE devices_v1;
"""

_INSERT_MESSAGE = (
    "INSERT OR IGNORE INTO messages (device_id, seq, school, kind, ts, time_quality,"
    " received_at, event_type, attributes, event_readings, student_id, lesson_id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_READING = (
    "INSERT INTO readings (device_id, seq, metric, value, unit, ts, school)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
# Only moves forward: a late redelivery of an old seq must not make a device look older.
_UPSERT_DEVICE = """
INSERT INTO devices (device_id, school, kind, last_seq, last_ts, last_received_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (school, device_id) DO UPDATE SET
    kind = excluded.kind, last_seq = excluded.last_seq,
    last_ts = excluded.last_ts, last_received_at = excluded.last_received_at
WHERE excluded.last_seq > devices.last_seq
"""


# Keys looked up per statement by `stored_readings`.
_LOOKUP_SLICE = 500
_BUILT_IN_METRICS = frozenset(metric.value for metric in Metric)
# A message's readings carry its device and time: with the metric one of a known few, the
# (device_id, metric, ts) index finds them by seeks ("IN" on the middle column), not a scan
# of the device's rows.
_LOOKUP = f"""
WITH k(school, device_id, seq) AS (SELECT json_extract(value, '$[0]'),
    json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?))
SELECT m.school, m.device_id, m.seq, m.kind, m.ts, m.time_quality, m.received_at,
    m.student_id, m.lesson_id, r.metric, r.value, r.unit
FROM k JOIN messages m ON m.school = k.school AND m.device_id = k.device_id AND m.seq = k.seq
JOIN readings r ON r.device_id = m.device_id
    AND r.metric IN ({", ".join(f"'{name}'" for name in sorted(_BUILT_IN_METRICS))})
    AND r.ts = m.ts AND r.seq = m.seq AND r.school = m.school
WHERE m.event_type IS NULL
ORDER BY r.rowid
"""
# Messages removed per transaction by the retention sweep.
_RETENTION_SLICE = 2000


def format_ts(value: datetime) -> str:
    """Fixed-width ISO-8601 UTC text; naive datetimes are refused rather than guessed."""
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise StoreError(f"timestamp {value!r} has no UTC offset; stores keep UTC only")
        value = value.astimezone(UTC)
    # isoformat is several times faster than strftime, and this runs twice per message;
    # with tzinfo UTC it always ends in "+00:00".
    return value.isoformat(timespec="microseconds")[:-6] + "Z"


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


class SqliteStore:
    """A `Store` in one SQLite file. Safe to share between threads: each thread gets its own
    connection (WAL lets readers run while the writer commits), writes are serialised by a lock.
    """

    def __init__(self, path: str | Path, *, synchronous: Synchronous = "full") -> None:
        if str(path) == ":memory:":
            # Every thread opens its own connection, and each would see a different database.
            raise StoreError("sqlite store needs a file path, not ':memory:'")
        self.path = Path(path)
        if synchronous not in ("full", "normal"):
            raise StoreError(f"sqlite synchronous must be 'full' or 'normal', not {synchronous!r}")
        self.synchronous = synchronous
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._upgrade(self._conn())
            self._conn().executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                N_("cannot open sqlite store {path}: {reason}"), path=self.path, reason=exc
            ) from exc

    def _upgrade(self, conn: sqlite3.Connection) -> None:
        """Bring a file made by an earlier release to the current schema, in one transaction."""
        key = {str(r[1]): int(r[5]) for r in conn.execute("PRAGMA table_info(messages)")}
        if not key or key.get("school", 0) > 0:
            return  # a new file, or one keyed by school already
        with self._transaction() as tx:
            for statement in _UPGRADE_SCHOOL_KEY.split(";"):
                if statement.strip():
                    tx.execute(statement)
            for statement in _SCHEMA.split(";"):
                if statement.strip().startswith("CREATE TABLE"):
                    tx.execute(statement)
            for statement in _UPGRADE_COPY.split(";"):
                if statement.strip():
                    tx.execute(statement)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if self._closed:
            raise StoreError(f"sqlite store {self.path} is closed")
        # check_same_thread=False only so that close() may close every thread's connection;
        # each connection is otherwise used by the thread that opened it.
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self.synchronous.upper()}")
        # Checkpointing every ~40 MB of WAL instead of 4 MB means fewer fsyncs of the main
        # file. The page cache is SQLite's default (2 MB) until the connection writes.
        conn.execute("PRAGMA wal_autocheckpoint=10000")
        self._local.conn = conn
        with self._all_lock:
            self._all.append(conn)
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        if not getattr(self._local, "writes", False):
            # Index pages of (device_id, ...) keys are hit all over the tree by interleaved
            # devices: the writing connection gets a cache that keeps them in memory. Only it:
            # every thread has a connection of its own, and each cache fills up to its size
            # over a long run (3 connections at 32 MB each were 96 MB in a soak's gateway).
            conn.execute(f"PRAGMA cache_size={WRITER_CACHE}")
            self._local.writes = True
        # IMMEDIATE takes the write lock up front, so a concurrent writer waits at BEGIN
        # instead of failing half-way with SQLITE_BUSY on upgrade.
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            # A failed COMMIT (disk full, I/O error) may leave the transaction open; never
            # leave it for the next batch to commit by accident.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def write(self, messages: Sequence[StoredMessage]) -> WriteResult:
        # First copy of each key in the batch; a redelivery can repeat a message within a batch.
        fresh: dict[tuple[str, str, int], StoredMessage] = {}
        for m in messages:
            fresh.setdefault((m.school, m.device_id, m.seq), m)
        inserted: list[StoredMessage] = []
        with self._write_lock:
            try:
                with self._transaction() as conn:
                    # New rows get rowids above the current maximum, and BEGIN IMMEDIATE holds
                    # the write lock, so the rows above `before` are exactly this batch's new
                    # messages: one executemany plus one range scan, instead of one round trip
                    # per message to learn whether it was a duplicate. (SQLite assigns
                    # max(rowid)+1 until rowid 2**63-1, which no campus reaches.)
                    before = conn.execute(
                        "SELECT coalesce(max(rowid), 0) FROM messages"
                    ).fetchone()[0]
                    rows = {key: _message_row(m) for key, m in fresh.items()}
                    changes = conn.total_changes
                    conn.executemany(_INSERT_MESSAGE, rows.values())
                    if conn.total_changes - changes == len(rows):
                        inserted = list(fresh.values())  # no duplicate: no need to look
                    else:
                        for key in conn.execute(
                            "SELECT school, device_id, seq FROM messages WHERE rowid > ?",
                            (before,),
                        ):
                            inserted.append(fresh[key])
                    readings, devices = _reading_and_device_rows(inserted, rows)
                    conn.executemany(_INSERT_READING, readings)
                    conn.executemany(_UPSERT_DEVICE, devices)
            except sqlite3.Error as exc:
                raise StoreError(f"sqlite store {self.path}: write failed: {exc}") from exc
        return WriteResult(inserted=len(inserted), duplicates=len(messages) - len(inserted))

    def write_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        rows = [
            (
                d.school,
                d.topic,
                d.reason,
                d.detail,
                bytes(d.payload[:DEAD_LETTER_PAYLOAD_BYTES]),
                format_ts(d.received_at),
            )
            for d in letters
        ]
        with self._write_lock:
            try:
                with self._transaction() as conn:
                    conn.executemany(
                        "INSERT INTO dead_letters (school, topic, reason, detail, payload,"
                        " received_at) VALUES (?, ?, ?, ?, ?, ?)",
                        rows,
                    )
            except sqlite3.Error as exc:
                raise StoreError(
                    f"sqlite store {self.path}: dead-letter write failed: {exc}"
                ) from exc

    def delete_dead_letters(self, before: datetime) -> int:
        with self._write_lock:
            try:
                with self._transaction() as conn:
                    cursor = conn.execute(
                        "DELETE FROM dead_letters WHERE received_at < ?", (format_ts(before),)
                    )
            except sqlite3.Error as exc:
                raise StoreError(
                    f"sqlite store {self.path}: dead-letter retention failed: {exc}"
                ) from exc
        return cursor.rowcount

    def delete_messages(self, before: datetime) -> int:
        """Messages *received* before *before*, oldest first, in slices.

        By receipt time, the gateway's clock: a device with a wrong clock keeps its data as
        long as the others. Rows are inserted as they are received, so rowid order is receipt
        order and the oldest are a prefix of it, found without scanning the table; each slice
        is its own short transaction, so ingest never waits long for the write lock."""
        cut = format_ts(before)
        removed = 0
        while True:
            with self._write_lock:
                try:
                    with self._transaction() as conn:
                        head = conn.execute(
                            "SELECT rowid, device_id, seq, school, received_at FROM messages"
                            " ORDER BY rowid LIMIT ?",
                            (_RETENTION_SLICE,),
                        ).fetchall()
                        old = []
                        for row in head:
                            if row[4] >= cut:
                                break
                            old.append(row)
                        if old:
                            conn.executemany(
                                "DELETE FROM readings"
                                " WHERE device_id = ? AND seq = ? AND school = ?",
                                [row[1:4] for row in old],
                            )
                            conn.execute("DELETE FROM messages WHERE rowid <= ?", (old[-1][0],))
                except sqlite3.Error as exc:
                    raise StoreError(
                        f"sqlite store {self.path}: readings retention failed: {exc}"
                    ) from exc
            removed += len(old)
            if len(old) < _RETENTION_SLICE:
                return removed

    def forget_student(self, student_id: str) -> int:
        with self._write_lock:
            try:
                with self._transaction() as conn:
                    keys = conn.execute(
                        "SELECT device_id, seq, school FROM messages WHERE student_id = ?",
                        (student_id,),
                    ).fetchall()
                    # Readings have no student column: found by their message's key (the
                    # device index narrows each delete to one device's rows).
                    conn.executemany(
                        "DELETE FROM readings WHERE device_id = ? AND seq = ? AND school = ?",
                        keys,
                    )
                    conn.execute("DELETE FROM messages WHERE student_id = ?", (student_id,))
            except sqlite3.Error as exc:
                raise StoreError(
                    f"sqlite store {self.path}: forgetting a student failed: {exc}"
                ) from exc
        return len(keys)

    @staticmethod
    def finds_by_key(m: StoredMessage) -> bool:
        """Whether `stored_readings` can give *m* back: a reading (not an event) of built-in
        metrics, whose rows the (device_id, metric, ts) index finds without a scan."""
        if m.event_type is not None or m.attributes:
            return False
        for metric, _, _ in m.readings:  # noqa: SIM110 - all() and a generator cost twice this
            if metric not in _BUILT_IN_METRICS:
                return False
        return True

    def stored_readings(
        self, keys: Iterable[tuple[str, str, int]]
    ) -> dict[tuple[str, str, int], StoredMessage]:
        """The stored messages of *keys* (school, device_id, seq) that `finds_by_key` accepts,
        as they were written: what the commit log keeps by key rather than as a copy. A key
        not stored (any more: retention, a student's erasure) is not in the answer."""
        found: dict[tuple[str, str, int], StoredMessage] = {}
        wanted = list(dict.fromkeys(keys))
        try:
            conn = self._conn()
            for start in range(0, len(wanted), _LOOKUP_SLICE):
                rows = conn.execute(
                    _LOOKUP, (json.dumps(wanted[start : start + _LOOKUP_SLICE]),)
                ).fetchall()
                readings: dict[tuple[str, str, int], list[tuple[str, float, str]]] = {}
                heads: dict[tuple[str, str, int], tuple[object, ...]] = {}
                for row in rows:
                    key = (str(row[0]), str(row[1]), int(row[2]))
                    heads.setdefault(key, row)
                    readings.setdefault(key, []).append((str(row[9]), float(row[10]), str(row[11])))
                for key, head in heads.items():
                    found[key] = StoredMessage(
                        school=key[0],
                        kind=DeviceKind(str(head[3])),
                        device_id=key[1],
                        seq=key[2],
                        ts=parse_ts(str(head[4])),
                        time_quality=TimeQuality(str(head[5])),
                        received_at=parse_ts(str(head[6])),
                        readings=tuple(readings[key]),
                        student_id=None if head[7] is None else str(head[7]),
                        lesson_id=None if head[8] is None else str(head[8]),
                    )
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite store {self.path}: look-up failed: {exc}") from exc
        return found

    def _query(self, sql: str, params: Sequence[object]) -> list[tuple[object, ...]]:
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite store {self.path}: query failed: {exc}") from exc

    def readings(
        self,
        *,
        device_id: str | None = None,
        metric: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 10_000,
        newest_first: bool = False,
    ) -> list[ReadingRow]:
        where, params = _filters("r", device_id=device_id, since=since, until=until)
        if metric is not None:
            where.append("r.metric = ?")
            params.append(metric)
        order = "DESC" if newest_first else "ASC"
        sql = (
            "SELECT m.school, m.kind, r.device_id, r.seq, r.ts, m.time_quality, r.metric,"
            " r.value, r.unit FROM readings r JOIN messages m"
            " ON m.school = r.school AND m.device_id = r.device_id AND m.seq = r.seq"
            f" {_where(where)} ORDER BY r.ts {order}, r.device_id {order}, r.seq {order},"
            f" r.rowid {order} LIMIT ?"
        )
        params.append(limit)
        return [
            ReadingRow(
                school=str(s),
                kind=str(k),
                device_id=str(d),
                seq=int(str(q)),
                ts=parse_ts(str(t)),
                time_quality=str(tq),
                metric=str(mt),
                value=float(str(v)),
                unit=str(u),
            )
            for s, k, d, q, t, tq, mt, v, u in self._query(sql, params)
        ]

    def events(
        self,
        *,
        device_id: str | None = None,
        event_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 10_000,
        newest_first: bool = False,
    ) -> list[EventRow]:
        where, params = _filters("m", device_id=device_id, since=since, until=until)
        where.append("m.event_type IS NOT NULL")
        if event_type is not None:
            where.append("m.event_type = ?")
            params.append(event_type)
        order = "DESC" if newest_first else "ASC"
        sql = (
            "SELECT m.school, m.kind, m.device_id, m.seq, m.ts, m.time_quality, m.event_type,"
            f" m.attributes, m.event_readings FROM messages m {_where(where)}"
            f" ORDER BY m.ts {order}, m.device_id {order}, m.seq {order} LIMIT ?"
        )
        params.append(limit)
        return [
            EventRow(
                school=str(s),
                kind=str(k),
                device_id=str(d),
                seq=int(str(q)),
                ts=parse_ts(str(t)),
                time_quality=str(tq),
                event_type=str(et),
                attributes=_attributes(attrs),
                readings=_event_readings(values),
            )
            for s, k, d, q, t, tq, et, attrs, values in self._query(sql, params)
        ]

    def last_seen(self) -> list[DeviceSeen]:
        rows = self._query(
            "SELECT school, kind, device_id, last_seq, last_ts, last_received_at"
            " FROM devices ORDER BY device_id, school",
            (),
        )
        return [
            DeviceSeen(
                school=str(s),
                kind=str(k),
                device_id=str(d),
                last_seq=int(str(q)),
                last_ts=parse_ts(str(t)),
                last_received_at=parse_ts(str(r)),
            )
            for s, k, d, q, t, r in rows
        ]

    def dead_letters(
        self, *, limit: int = 1_000, topic_suffix: str | None = None
    ) -> list[DeadLetter]:
        where, params = "", tuple[object, ...]()
        if topic_suffix:
            escaped = topic_suffix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where, params = " WHERE topic LIKE ? ESCAPE '\\'", ("%" + escaped,)
        rows = self._query(
            "SELECT school, topic, reason, detail, payload, received_at"
            f" FROM dead_letters{where} ORDER BY received_at DESC, id DESC"
            " LIMIT ?",
            (*params, limit),
        )
        return [
            DeadLetter(
                school=None if s is None else str(s),
                topic=str(t),
                reason=str(r),
                detail=str(d),
                payload=bytes(p) if isinstance(p, bytes) else b"",
                received_at=parse_ts(str(at)),
            )
            for s, t, r, d, p, at in rows
        ]

    def count_messages(self) -> int:
        return int(str(self._query("SELECT count(*) FROM messages", ())[0][0]))

    def duplicate_keys(self) -> int:
        # The primary key makes this 0; it is counted rather than assumed so that a schema
        # edited by hand (or a table created without the key) shows up in the benchmark.
        rows = self._query(
            "SELECT count(*) FROM (SELECT 1 FROM messages"
            " GROUP BY school, device_id, seq HAVING count(*) > 1)",
            (),
        )
        return int(str(rows[0][0]))

    def close(self) -> None:
        with self._all_lock:
            self._closed = True
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()


def _message_row(m: StoredMessage) -> tuple[object, ...]:
    if m.event_type is None and not m.attributes:
        return (
            m.device_id,
            m.seq,
            m.school,
            str(m.kind),
            format_ts(m.ts),
            str(m.time_quality),
            format_ts(m.received_at),
            None,
            None,
            None,
            m.student_id,
            m.lesson_id,
        )
    return (
        m.device_id,
        m.seq,
        m.school,
        str(m.kind),
        format_ts(m.ts),
        str(m.time_quality),
        format_ts(m.received_at),
        m.event_type,
        json.dumps(dict(m.attributes), ensure_ascii=False),
        json.dumps([[k, float(v), u] for k, v, u in m.readings], ensure_ascii=False),
        m.student_id,
        m.lesson_id,
    )


def _reading_and_device_rows(
    messages: Iterable[StoredMessage], rows: dict[tuple[str, str, int], tuple[object, ...]]
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Readings and device rows of the inserted messages, reusing their formatted times."""
    readings: list[tuple[object, ...]] = []
    devices: dict[tuple[str, str], tuple[object, ...]] = {}
    newest: dict[tuple[str, str], int] = {}
    for m in messages:
        row = rows[m.school, m.device_id, m.seq]
        ts = row[4]
        readings.extend(
            (m.device_id, m.seq, metric, float(value), unit, ts, m.school)
            for metric, value, unit in m.readings
        )
        device = (m.school, m.device_id)
        if m.seq > newest.get(device, -1):
            newest[device] = m.seq
            devices[device] = (m.device_id, m.school, str(m.kind), m.seq, ts, row[6])
    return readings, list(devices.values())


def _filters(
    alias: str, *, device_id: str | None, since: datetime | None, until: datetime | None
) -> tuple[list[str], list[object]]:
    where: list[str] = []
    params: list[object] = []
    if device_id is not None:
        where.append(f"{alias}.device_id = ?")
        params.append(device_id)
    if since is not None:
        where.append(f"{alias}.ts >= ?")
        params.append(format_ts(since))
    if until is not None:
        where.append(f"{alias}.ts < ?")
        params.append(format_ts(until))
    return where, params


def _where(conditions: list[str]) -> str:
    return "WHERE " + " AND ".join(conditions) if conditions else ""


def _event_readings(raw: object) -> tuple[tuple[str, float, str], ...]:
    if raw is None:
        return ()
    return tuple((str(k), float(v), str(u)) for k, v, u in json.loads(str(raw)))


def _attributes(raw: object) -> dict[str, Scalar]:
    if raw is None:
        return {}
    loaded = json.loads(str(raw))
    if not isinstance(loaded, dict):
        raise StoreError(f"messages.attributes holds {type(loaded).__name__}, not a JSON object")
    return loaded
