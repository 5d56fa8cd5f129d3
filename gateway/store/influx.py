"""InfluxDB store over the v1 HTTP API: `/write` line protocol and InfluxQL `/query`.

InfluxDB 1.x serves this API natively; 2.x and 3.x serve it as v1-compatible endpoints, with
`Authorization: Token …` instead of a username and password.

Measurements:

- `reading`: one point per value. Tags school, kind, device_id, metric, seq_block; fields
  value (float), unit, seq (int), time_quality, ts_us (device time, µs since the epoch);
- `event`: one point per event message. Tags school, kind, device_id, event_type, seq_block;
  fields seq, time_quality, ts_us, attributes (JSON object), readings (JSON list);
- `message`: one point per stored message, written after its readings and event are acked, so
  a message point means "this message is completely stored" (a failed write is retried whole
  and nothing is half-stored under a key that later counts as a duplicate). Tags school, kind,
  device_id, seq_block; fields seq, time_quality, ts_us, received_us, and student_id and
  lesson_id when the message is bound (absent when it is not);
- `dead_letter`: no tags, so that no input, however malformed, makes a dead letter
  unwritable (tags cannot carry every string); fields topic, reason, detail, school (absent
  when unknown), payload (base64), received_us. Dead letters have no natural key: the point
  time is received_at in µs plus a per-store counter in the nanoseconds. For the same reason
  the payload keeps its first 48 KiB (64 KiB in base64, InfluxDB's string limit) and topic and
  detail their first 8192 characters.

Point identity. InfluxDB identifies a point by measurement, tag set and timestamp; writing the
same identity again overwrites it. So the timestamp is derived from the message only:

    time_ns = floor(device ts to the millisecond) + (seq mod 1_000_000) ns
    tag seq_block = seq // 1_000_000

Rewriting a message yields the same point (idempotent), and two seqs of one device never share
a point: within one millisecond, seqs in one block differ in the nanosecond part, seqs in
different blocks differ in the tag — even when a device stamps every message alike. The cost
is one more series per device per million messages (a band at 10 messages/s opens a new one
every 28 hours), against one series per *message* if seq itself were a tag, which would blow up
InfluxDB's series index. The exact device time is kept in `ts_us`; time-range queries use the
point time widened to whole milliseconds and then `ts_us` for the exact bound.

Ordering of query results is by point time, i.e. by device time to the millisecond and then by
seq within a millisecond; rows inside that are sorted exactly before they are returned, but a
`limit` cut is made by InfluxDB on point time.

Deduplication is on (school, device_id, seq): the school is a tag of every point, so the same
device id and seq in two schools are two series and two messages. Before writing, the store
asks which keys of the batch already exist among the batch's devices within the batch's time
window. A redelivery carries the same device time, so
it is found; the same (device, seq) resent with a *different* device time would be stored
twice and shows up in `duplicate_keys()`.

Durability: `write` returns after InfluxDB answered 204, i.e. after the points are in its WAL
(InfluxDB 1.x fsyncs the WAL before answering unless `wal-fsync-delay` is set).

Counting: `count_messages()` is the sum over devices of `count(distinct(seq))` in `message`;
`duplicate_keys()` reads seqs point by point only for devices whose point count exceeds it.

Transient failures (connection errors, timeouts, 429, 5xx) are retried with exponential
backoff; rewriting is safe because every point's identity is fixed before the first attempt.
Other 4xx answers (bad auth, field type conflict, missing database) raise `StoreError` with
InfluxDB's message at once.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx

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
    StoreUnavailable,
    WriteResult,
)
from gateway.store.line_protocol import FieldValue, LineProtocolError, point


@dataclass(frozen=True)
class Measurement:
    """The tag and field keys of one measurement as this store writes it."""

    tags: frozenset[str]
    fields: frozenset[str]


# What this store writes (see the module docstring). Other readers of the database are checked
# against it — the Grafana dashboards in deploy/grafana by tests/deploy/test_grafana.py — and
# it is checked against what InfluxDB reports after a write (tests/gateway/store/test_influx.py).
_KEY_TAGS = frozenset({"school", "kind", "device_id", "seq_block"})
_MESSAGE_FIELDS = frozenset({"seq", "time_quality", "ts_us"})
SCHEMA: Final[Mapping[str, Measurement]] = {
    "reading": Measurement(_KEY_TAGS | {"metric"}, _MESSAGE_FIELDS | {"value", "unit"}),
    "event": Measurement(_KEY_TAGS | {"event_type"}, _MESSAGE_FIELDS | {"attributes", "readings"}),
    "message": Measurement(_KEY_TAGS, _MESSAGE_FIELDS | {"received_us", "student_id", "lesson_id"}),
    "dead_letter": Measurement(
        frozenset(), frozenset({"topic", "reason", "detail", "school", "payload", "received_us"})
    ),
}

SEQ_BLOCK = 1_000_000
NS_PER_MS = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


def to_us(value: datetime) -> int:
    if value.tzinfo is None:
        raise StoreError(f"timestamp {value!r} has no UTC offset; stores keep UTC only")
    return (value - EPOCH) // timedelta(microseconds=1)


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def point_time_ns(ts: datetime, seq: int) -> int:
    """The deterministic point time of message (ts, seq); see the module docstring."""
    ms = to_us(ts) // 1000
    return ms * NS_PER_MS + seq % SEQ_BLOCK


def quote_literal(text: str) -> str:
    """An InfluxQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class Series:
    """One series of a query answer."""

    name: str
    tags: dict[str, str]
    columns: list[str]
    values: list[list[Any]]

    def rows(self) -> Iterator[dict[str, Any]]:
        for row in self.values:
            yield dict(zip(self.columns, row, strict=True)) | self.tags


# What of a dead letter fits InfluxDB's 64 KiB string fields whatever it holds: 48 KiB of
# payload is 64 KiB of base64, and 8192 characters are at most 32 KiB even when every one is
# a 4-byte character or a backslash that escaping doubles.
DEAD_TEXT_CHARS = 8192


class InfluxStore:
    """A `Store` in one InfluxDB database. Thread-safe: httpx.Client is."""

    def __init__(
        self,
        base_url: str,
        database: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        create_database: bool = True,
        timeout: float = 10.0,
        retries: int = 5,
        backoff_s: float = 0.2,
    ) -> None:
        if not database:
            raise StoreError("influx store needs a database name")
        if token and username:
            raise StoreError("influx store: give either username/password or a token, not both")
        self.base_url = base_url.rstrip("/")
        self.database = database
        self.retries = retries
        self.backoff_s = backoff_s
        headers = {"Authorization": f"Token {token}"} if token else {}
        auth = httpx.BasicAuth(username, password or "") if username else None
        self._client = httpx.Client(
            base_url=self.base_url, headers=headers, auth=auth, timeout=timeout
        )
        # Dead letters have no natural key; a per-store counter (random start, so two gateway
        # processes are unlikely to agree) keeps letters of the same microsecond apart.
        self._dead_counter = random.randrange(1000)
        self._dead_lock = threading.Lock()
        if create_database:
            self._request("POST", "/query", data={"q": f'CREATE DATABASE "{_ident(database)}"'})

    # -- HTTP ---------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        where = f"{method} {self.base_url}{path}"
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._client.request(
                    method, path, params=params, data=data, content=content
                )
            except httpx.TransportError as exc:
                if last:
                    raise StoreUnavailable(
                        N_("influx {where}: {reason} (after {attempts} attempts)"),
                        where=where,
                        reason=f"{type(exc).__name__}: {exc}",
                        attempts=self.retries + 1,
                    ) from exc
            else:
                if response.status_code < 300:
                    return response
                message = _error_text(response)
                if response.status_code not in RETRY_STATUS or last:
                    if response.status_code in (401, 403):
                        raise StoreError(
                            N_(
                                "influx {where}: HTTP {status}: {reason} (check the "
                                "user:password or token in the store URL)"
                            ),
                            where=where,
                            status=response.status_code,
                            reason=message,
                        )
                    raise StoreError(
                        N_("influx {where}: HTTP {status}: {reason}"),
                        where=where,
                        status=response.status_code,
                        reason=message,
                    )
            time.sleep(min(self.backoff_s * 2**attempt, 5.0))
        raise AssertionError("unreachable")  # the loop returns or raises

    def query(self, q: str) -> list[Series]:
        """Run one InfluxQL SELECT/SHOW statement; raise StoreError on its error."""
        response = self._request(
            "GET",
            "/query",
            params={
                "db": self.database,
                "q": q,
                "epoch": "ns",
                "chunked": "true",
                "chunk_size": "10000",
            },
        )
        merged: dict[tuple[str, tuple[tuple[str, str], ...]], Series] = {}
        # A chunked answer is one JSON document per line; a series may continue over several.
        for line in response.text.splitlines():
            if not line.strip():
                continue
            doc = json.loads(line)
            if "error" in doc:
                raise StoreError(f"influx query {q!r}: {doc['error']}")
            for result in doc.get("results", []):
                if "error" in result:
                    raise StoreError(f"influx query {q!r}: {result['error']}")
                for s in result.get("series", []):
                    tags = dict(s.get("tags") or {})
                    key = (s["name"], tuple(sorted(tags.items())))
                    if key in merged:
                        merged[key].values.extend(s.get("values") or [])
                    else:
                        merged[key] = Series(
                            s["name"], tags, list(s["columns"]), list(s.get("values") or [])
                        )
        return list(merged.values())

    def _rows(self, q: str) -> list[dict[str, Any]]:
        return [row for series in self.query(q) for row in series.rows()]

    def write_lines(self, lines: Iterable[str]) -> None:
        body = "\n".join(lines)
        if body:
            self._request(
                "POST",
                "/write",
                params={"db": self.database, "precision": "ns"},
                content=body.encode(),
            )

    # -- writes -------------------------------------------------------------------------

    def write(self, messages: Sequence[StoredMessage]) -> WriteResult:
        fresh: dict[tuple[str, str, int], StoredMessage] = {}
        for m in messages:
            fresh.setdefault((m.school, m.device_id, m.seq), m)
        for key in self._existing(fresh.values()):
            fresh.pop(key, None)
        try:
            data_lines = [line for m in fresh.values() for line in _data_points(m)]
            message_lines = [_message_point(m) for m in fresh.values()]
        except LineProtocolError as exc:
            raise StoreError(f"influx store: cannot write message: {exc}") from exc
        self.write_lines(data_lines)
        self.write_lines(message_lines)
        return WriteResult(inserted=len(fresh), duplicates=len(messages) - len(fresh))

    def _existing(self, messages: Iterable[StoredMessage]) -> set[tuple[str, str, int]]:
        by_device: dict[tuple[str, str], list[int]] = {}
        times: list[int] = []
        for m in messages:
            by_device.setdefault((m.school, m.device_id), []).append(m.seq)
            times.append(point_time_ns(m.ts, m.seq))
        if not times:
            return set()
        found: set[tuple[str, str, int]] = set()
        devices = sorted({device_id for _, device_id in by_device})
        # Bounded OR lists keep the query URL short.
        for start in range(0, len(devices), 200):
            chunk = devices[start : start + 200]
            cond = " OR ".join(f"device_id = {quote_literal(d)}" for d in chunk)
            for row in self._rows(
                f"SELECT seq, device_id, school FROM message WHERE time >= "
                f"{min(times)} AND time <= {max(times)} AND ({cond})"
            ):
                found.add((row["school"] or "", row["device_id"], int(row["seq"])))
        wanted = {(school, d, s) for (school, d), seqs in by_device.items() for s in seqs}
        return found & wanted

    def write_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        lines = []
        try:
            for d in letters:
                received = to_us(d.received_at)
                with self._dead_lock:
                    self._dead_counter = (self._dead_counter + 1) % 1000
                    offset = self._dead_counter
                fields: dict[str, FieldValue] = {
                    "topic": d.topic[:DEAD_TEXT_CHARS],
                    "reason": d.reason[:DEAD_TEXT_CHARS],
                    "detail": d.detail[:DEAD_TEXT_CHARS],
                    "payload": base64.b64encode(d.payload[:DEAD_LETTER_PAYLOAD_BYTES]).decode(),
                    "received_us": received,
                }
                if d.school is not None:
                    fields["school"] = d.school
                lines.append(point("dead_letter", {}, fields, received * 1000 + offset))
        except LineProtocolError as exc:
            raise StoreError(f"influx store: cannot write dead letter: {exc}") from exc
        self.write_lines(lines)

    # -- queries ------------------------------------------------------------------------

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
        where = _time_filter(since, until)
        if device_id is not None:
            where.append(f"device_id = {quote_literal(device_id)}")
        if metric is not None:
            where.append(f"metric = {quote_literal(metric)}")
        rows = self._rows(
            "SELECT value, unit, seq, time_quality, ts_us, school, kind, device_id, metric"
            f" FROM reading {_where(where)} {_order(newest_first)} LIMIT {int(limit)}"
        )
        out = [
            ReadingRow(
                school=r["school"] or "",
                kind=r["kind"] or "",
                device_id=r["device_id"],
                seq=int(r["seq"]),
                ts=from_us(int(r["ts_us"])),
                time_quality=r["time_quality"],
                metric=r["metric"],
                value=float(r["value"]),
                unit=r["unit"],
            )
            for r in rows
        ]
        out.sort(key=lambda r: (r.ts, r.device_id, r.seq), reverse=newest_first)
        return out

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
        where = _time_filter(since, until)
        if device_id is not None:
            where.append(f"device_id = {quote_literal(device_id)}")
        if event_type is not None:
            where.append(f"event_type = {quote_literal(event_type)}")
        rows = self._rows(
            "SELECT seq, time_quality, ts_us, attributes, readings, school, kind, device_id,"
            f" event_type FROM event {_where(where)} {_order(newest_first)} LIMIT {int(limit)}"
        )
        out = [
            EventRow(
                school=r["school"] or "",
                kind=r["kind"] or "",
                device_id=r["device_id"],
                seq=int(r["seq"]),
                ts=from_us(int(r["ts_us"])),
                time_quality=r["time_quality"],
                event_type=r["event_type"],
                attributes=_attributes(r["attributes"]),
                readings=tuple((str(k), float(v), str(u)) for k, v, u in json.loads(r["readings"])),
            )
            for r in rows
        ]
        out.sort(key=lambda e: (e.ts, e.device_id, e.seq), reverse=newest_first)
        return out

    def last_seen(self) -> list[DeviceSeen]:
        best: dict[tuple[str, str], DeviceSeen] = {}
        # max() is a selector: the other fields come from the point holding the highest seq.
        for series in self.query(
            "SELECT max(seq), ts_us, received_us FROM message GROUP BY device_id, school, kind"
        ):
            for r in series.rows():
                seen = DeviceSeen(
                    school=r.get("school") or "",
                    kind=r.get("kind") or "",
                    device_id=r["device_id"],
                    last_seq=int(r["max"]),
                    last_ts=from_us(int(r["ts_us"])),
                    last_received_at=from_us(int(r["received_us"])),
                )
                key = (seen.device_id, seen.school)
                old = best.get(key)
                if old is None or seen.last_seq > old.last_seq:
                    best[key] = seen
        return [best[k] for k in sorted(best)]

    def dead_letters(
        self, *, limit: int = 1_000, topic_suffix: str | None = None
    ) -> list[DeadLetter]:
        # InfluxQL regex literal: the suffix escaped as a regex, and its slashes for the /…/.
        where = (
            " WHERE topic =~ /" + re.escape(topic_suffix).replace("/", "\\/") + "$/"
            if topic_suffix
            else ""
        )
        rows = self._rows(
            "SELECT topic, reason, detail, payload, received_us, school"
            f" FROM dead_letter{where} ORDER BY time DESC LIMIT {int(limit)}"
        )
        return [
            DeadLetter(
                school=r["school"],
                topic=r["topic"],
                reason=r["reason"],
                detail=r["detail"],
                payload=base64.b64decode(r["payload"]),
                received_at=from_us(int(r["received_us"])),
            )
            for r in rows
        ]

    def delete_dead_letters(self, before: datetime) -> int:
        # A dead letter's point time is its receipt time (plus a counter's nanoseconds).
        until = f"time < {to_us(before) * 1000}"
        counted = self._rows(f"SELECT count(reason) FROM dead_letter WHERE {until}")
        found = int(counted[0]["count"]) if counted else 0
        if found:
            self._delete(f"DELETE FROM dead_letter WHERE {until}", "dead-letter retention")
        return found

    def _delete(self, statement: str, what: str) -> None:
        # InfluxQL's DELETE (1.x; 2.x and 3.x keep it out of their v1 API: there a bucket
        # retention period does the retention's job, docs/gateway.md).
        response = self._request("POST", "/query", data={"db": self.database, "q": statement})
        for result in response.json().get("results", []):
            if "error" in result:
                raise StoreError(f"influx {what}: {result['error']}")

    def delete_messages(self, before: datetime) -> int:
        # A point's time is its device time to the millisecond (plus seq in the nanoseconds).
        until = f"time < {to_us(before) * 1000}"
        counted = self._rows(f"SELECT count(seq) FROM message WHERE {until}")
        found = sum(int(r["count"]) for r in counted)
        if found:
            # The message point last: it is what says "completely stored".
            for measurement in ("reading", "event", "message"):
                self._delete(f"DELETE FROM {measurement} WHERE {until}", "readings retention")
        return found

    def forget_student(self, student_id: str) -> int:
        """InfluxQL deletes by tag and time only, and the student is a field of `message`:
        so per device, the spans of consecutive message points that are all this student's
        are found and deleted as time ranges (one or a few per lesson, not one per point)."""
        found = self.query(
            f"SELECT seq FROM message WHERE student_id = {quote_literal(student_id)}"
            " GROUP BY school, device_id"
        )
        forgotten = 0
        for series in found:
            times = sorted(int(row[0]) for row in series.values)
            device = (
                f"school = {quote_literal(series.tags['school'])}"
                f" AND device_id = {quote_literal(series.tags['device_id'])}"
            )
            around = self.query(
                f"SELECT student_id, seq FROM message WHERE {device}"
                f" AND time >= {times[0]} AND time <= {times[-1]}"
            )
            points = sorted((int(row[0]), row[1]) for s in around for row in s.values)
            for first, last in _runs(points, student_id):
                for measurement in ("reading", "event", "message"):
                    self._delete(
                        f"DELETE FROM {measurement} WHERE {device}"
                        f" AND time >= {first} AND time <= {last}",
                        "forgetting a student",
                    )
            forgotten += len(times)
        return forgotten

    def _seq_counts(self) -> list[dict[str, Any]]:
        return [
            r
            for s in self.query(
                "SELECT count(seq), count(distinct(seq)) FROM message GROUP BY school, device_id"
            )
            for r in s.rows()
        ]

    def count_messages(self) -> int:
        return sum(int(r["count_1"]) for r in self._seq_counts())

    def duplicate_keys(self) -> int:
        duplicates = 0
        # Only devices whose point count exceeds their distinct seqs can hold a duplicate key;
        # only those are read point by point.
        for r in self._seq_counts():
            if int(r["count"]) == int(r["count_1"]):
                continue
            counts: dict[int, int] = {}
            for row in self._rows(
                f"SELECT seq FROM message WHERE device_id = {quote_literal(r['device_id'])}"
                f" AND school = {quote_literal(r.get('school') or '')}"
            ):
                counts[int(row["seq"])] = counts.get(int(row["seq"]), 0) + 1
            duplicates += sum(1 for n in counts.values() if n > 1)
        return duplicates

    def close(self) -> None:
        self._client.close()


def _runs(points: list[tuple[int, Any]], student_id: str) -> list[tuple[int, int]]:
    """(first, last) times of each run of consecutive points bound to *student_id*."""
    runs: list[tuple[int, int]] = []
    first: int | None = None
    last = 0
    for at, who in points:
        if who == student_id:
            first = at if first is None else first
            last = at
        elif first is not None:
            runs.append((first, last))
            first = None
    if first is not None:
        runs.append((first, last))
    return runs


def _ident(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"')


def _error_text(response: httpx.Response) -> str:
    try:
        doc = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(doc, dict) and "error" in doc:
        return str(doc["error"])
    return response.text.strip()[:500]


def _tags(m: StoredMessage, **extra: str) -> dict[str, str]:
    return {
        "school": m.school,
        "kind": str(m.kind),
        "device_id": m.device_id,
        "seq_block": str(m.seq // SEQ_BLOCK),
        **extra,
    }


def _data_points(m: StoredMessage) -> Iterator[str]:
    t = point_time_ns(m.ts, m.seq)
    ts_us = to_us(m.ts)
    for metric, value, unit in m.readings:
        yield point(
            "reading",
            _tags(m, metric=metric),
            {
                "value": float(value),
                "unit": unit,
                "seq": m.seq,
                "time_quality": str(m.time_quality),
                "ts_us": ts_us,
            },
            t,
        )
    if m.event_type is not None:
        fields: dict[str, FieldValue] = {
            "seq": m.seq,
            "time_quality": str(m.time_quality),
            "ts_us": ts_us,
            "attributes": json.dumps(dict(m.attributes), ensure_ascii=False),
            "readings": json.dumps([list(r) for r in m.readings], ensure_ascii=False),
        }
        yield point("event", _tags(m, event_type=m.event_type), fields, t)


def _message_point(m: StoredMessage) -> str:
    fields: dict[str, FieldValue] = {
        "seq": m.seq,
        "time_quality": str(m.time_quality),
        "ts_us": to_us(m.ts),
        "received_us": to_us(m.received_at),
    }
    if m.student_id is not None:
        fields["student_id"] = m.student_id
    if m.lesson_id is not None:
        fields["lesson_id"] = m.lesson_id
    return point("message", _tags(m), fields, point_time_ns(m.ts, m.seq))


def _time_filter(since: datetime | None, until: datetime | None) -> list[str]:
    # The point time is the device time floored to the millisecond plus < 1 ms, so the
    # point-time window is widened to whole milliseconds and ts_us gives the exact bound.
    where = []
    if since is not None:
        us = to_us(since)
        where += [f"time >= {us // 1000 * NS_PER_MS}", f"ts_us >= {us}"]
    if until is not None:
        us = to_us(until)
        where += [f"time < {(-(-us // 1000)) * NS_PER_MS + NS_PER_MS}", f"ts_us < {us}"]
    return where


def _where(conditions: list[str]) -> str:
    return "WHERE " + " AND ".join(conditions) if conditions else ""


def _order(newest_first: bool) -> str:
    return "ORDER BY time DESC" if newest_first else ""


def _attributes(raw: str) -> dict[str, Scalar]:
    loaded = json.loads(raw)
    if not isinstance(loaded, dict):
        raise StoreError(f"event attributes hold {type(loaded).__name__}, not a JSON object")
    return loaded
