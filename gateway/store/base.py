"""The store interface the ingest path writes through, and the records it stores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from campusedge.contract import TimeQuality
from campusedge.topics import DeviceKind
from campusedge.words import Shown

# What a store keeps of a dead letter's payload: plenty to diagnose a bad device, and a
# bound on what reading dead letters back costs (an oversize message is a dead letter too).
DEAD_LETTER_PAYLOAD_BYTES = 48 * 1024


@dataclass(frozen=True)
class StoredMessage:
    """One accepted message, normalized: the unit of idempotency is (school, device_id, seq).

    `readings` holds (metric, value, unit) in canonical units; an event message also has
    `event_type` and `attributes` (JSON-able scalars). `student_id` and `lesson_id` are the
    binding at the message's device time (`gateway.binding`), None when no lesson binds it.
    """

    school: str
    kind: DeviceKind
    device_id: str
    seq: int
    ts: datetime
    time_quality: TimeQuality
    received_at: datetime
    readings: tuple[tuple[str, float, str], ...]
    event_type: str | None = None
    attributes: tuple[tuple[str, bool | int | float | str | None], ...] = ()
    student_id: str | None = None
    lesson_id: str | None = None


_new = object.__new__


def built(
    school: str,
    kind: DeviceKind,
    device_id: str,
    seq: int,
    ts: datetime,
    time_quality: TimeQuality,
    received_at: datetime,
    readings: tuple[tuple[str, float, str], ...],
    student_id: str | None = None,
    lesson_id: str | None = None,
) -> StoredMessage:
    """A reading's StoredMessage, made for ingest's hot path: the frozen dataclass's
    `__init__` sets each field through `object.__setattr__`, three times slower than filling
    the instance's dict at once (the same object; a test keeps the fields in step)."""
    m = _new(StoredMessage)
    m.__dict__.update(
        school=school,
        kind=kind,
        device_id=device_id,
        seq=seq,
        ts=ts,
        time_quality=time_quality,
        received_at=received_at,
        readings=readings,
        event_type=None,
        attributes=(),
        student_id=student_id,
        lesson_id=lesson_id,
    )
    return m


def bound(m: StoredMessage, student_id: str, lesson_id: str) -> StoredMessage:
    """*m* with its binding (`dataclasses.replace`, without its cost per message)."""
    out = _new(StoredMessage)
    out.__dict__.update(m.__dict__, student_id=student_id, lesson_id=lesson_id)
    return out


@dataclass(frozen=True)
class DeadLetter:
    """Input that was rejected, kept with its reason so nothing disappears silently."""

    school: str | None
    topic: str
    reason: str
    detail: str
    payload: bytes
    received_at: datetime


@dataclass(frozen=True)
class WriteResult:
    inserted: int
    duplicates: int


@dataclass(frozen=True)
class ReadingRow:
    """One stored value, as queries return it."""

    school: str
    kind: str
    device_id: str
    seq: int
    ts: datetime
    time_quality: str
    metric: str
    value: float
    unit: str


Scalar = bool | int | float | str | None


@dataclass(frozen=True)
class EventRow:
    """One stored event message, as queries return it."""

    school: str
    kind: str
    device_id: str
    seq: int
    ts: datetime
    time_quality: str
    event_type: str
    attributes: dict[str, Scalar]
    readings: tuple[tuple[str, float, str], ...]


@dataclass(frozen=True)
class DeviceSeen:
    """The newest stored message of one device (by sequence number)."""

    school: str
    kind: str
    device_id: str
    last_seq: int
    last_ts: datetime
    last_received_at: datetime


class StoreError(Shown, RuntimeError):
    """The store refused or could not complete an operation; the message says what and where
    (a catalog message with its values where the text is ours, see Shown)."""


class StoreUnavailable(StoreError):
    """The store did not answer (network, a server still starting): worth trying again later."""


class Store(Protocol):
    """A durable store. `write` returns only after the batch is committed (fsync'd or acked).

    Queries return rows ordered by device timestamp (oldest first unless `newest_first`), ties
    broken by device id and sequence number; `since` is inclusive, `until` exclusive.
    """

    def write(self, messages: Sequence[StoredMessage]) -> WriteResult: ...

    def write_dead_letters(self, letters: Sequence[DeadLetter]) -> None: ...

    def readings(
        self,
        *,
        device_id: str | None = None,
        metric: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 10_000,
        newest_first: bool = False,
    ) -> list[ReadingRow]: ...

    def events(
        self,
        *,
        device_id: str | None = None,
        event_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 10_000,
        newest_first: bool = False,
    ) -> list[EventRow]: ...

    def last_seen(self) -> list[DeviceSeen]: ...

    def dead_letters(
        self, *, limit: int = 1_000, topic_suffix: str | None = None
    ) -> list[DeadLetter]:
        """The newest dead letters first; with topic_suffix only topics ending with it."""
        ...

    def delete_dead_letters(self, before: datetime) -> int:
        """Remove dead letters received before *before* (retention); returns how many."""
        ...

    def delete_messages(self, before: datetime) -> int:
        """Remove messages (readings, events) from before *before* (retention of raw
        readings): by receipt time where the store keeps it in order (SQLite), else by device
        time (InfluxDB's time axis); returns how many messages."""
        ...

    def forget_student(self, student_id: str) -> int:
        """Remove every message bound to *student_id* with its readings and event; returns
        how many messages (a student's erasure)."""
        ...

    def count_messages(self) -> int: ...

    def duplicate_keys(self) -> int: ...

    def close(self) -> None: ...
