"""Consumer cursors and consumer dead letters, kept in the gateway's state database."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select

from gateway.state import StateDB, upsert
from gateway.store.commit_log import Committed
from gateway.tables.consumers import consumer_cursors, consumer_dead_letters


@dataclass(frozen=True)
class ConsumerDeadLetter:
    """A commit-log entry one consumer could not handle, with the error it raised."""

    consumer: str
    position: int
    entry: str
    school: str | None
    device_id: str | None
    seq: int | None
    error: str
    detail: str
    failed_at: datetime


class Cursors:
    """Where each consumer has read the commit log up to; saved with the consumer's effects."""

    def __init__(self, db: StateDB) -> None:
        self.db = db

    def get(self, consumer: str) -> int:
        """The last position *consumer* handled; 0 (the start of the log) for a new one."""
        c = consumer_cursors.c
        rows = self.db.query(select(c.position).where(c.consumer == consumer))
        return int(rows[0]["position"]) if rows else 0

    def all(self) -> dict[str, int]:
        return {
            str(r["consumer"]): int(r["position"])
            for r in self.db.query(select(consumer_cursors.c.consumer, consumer_cursors.c.position))
        }

    @staticmethod
    def save(conn: Connection, consumer: str, position: int) -> None:
        """Inside the consumer's transaction: its cursor moves with its effects, or neither."""
        upsert(
            conn,
            consumer_cursors,
            {
                "consumer": consumer,
                "position": position,
                "updated_at": datetime.now(UTC).isoformat(),
            },
            keys=["consumer"],
        )

    @staticmethod
    def dead_letter(conn: Connection, consumer: str, entry: Committed, exc: BaseException) -> None:
        school: str | None
        if entry.message is not None:
            kind, school, device, seq = (
                "message",
                entry.message.school,
                entry.message.device_id,
                entry.message.seq,
            )
        elif entry.status is not None:
            kind, school, device, seq = "status", entry.status[0], entry.status[1].device_id, None
        else:
            letter = entry.dead_letter
            kind, school, device, seq = "dead_letter", letter.school if letter else None, None, None
        conn.execute(
            insert(consumer_dead_letters).values(
                consumer=consumer,
                position=entry.position,
                entry=kind,
                school=school,
                device_id=device,
                seq=seq,
                error=f"{type(exc).__name__}: {exc}"[:2000],
                detail="".join(traceback.format_exception(exc))[-8000:],
                failed_at=datetime.now(UTC).isoformat(),
            )
        )

    def dead_letters(
        self, consumer: str | None = None, limit: int = 100
    ) -> list[ConsumerDeadLetter]:
        """The newest dead letters first, of one consumer or of all."""
        d = consumer_dead_letters.c
        query = select(consumer_dead_letters)
        if consumer:
            query = query.where(d.consumer == consumer)
        rows = self.db.query(query.order_by(d.id.desc()).limit(limit))
        return [
            ConsumerDeadLetter(
                r["consumer"],
                r["position"],
                r["entry"],
                r["school"],
                r["device_id"],
                r["seq"],
                r["error"],
                r["detail"],
                datetime.fromisoformat(r["failed_at"]),
            )
            for r in rows
        ]
