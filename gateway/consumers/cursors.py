"""Consumer cursors and consumer dead letters, kept in the gateway's state database."""

from __future__ import annotations

import sqlite3
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.state import StateDB
from gateway.store.commit_log import Committed

SCHEMA = """
CREATE TABLE IF NOT EXISTS consumer_cursors (
    consumer TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS consumer_dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    consumer TEXT NOT NULL,
    position INTEGER NOT NULL,
    entry TEXT NOT NULL,
    school TEXT,
    device_id TEXT,
    seq INTEGER,
    error TEXT NOT NULL,
    detail TEXT NOT NULL,
    failed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS consumer_dead_letters_consumer
    ON consumer_dead_letters (consumer, id);
"""


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
        db.ensure(SCHEMA)

    def get(self, consumer: str) -> int:
        """The last position *consumer* handled; 0 (the start of the log) for a new one."""
        rows = self.db.query("SELECT position FROM consumer_cursors WHERE consumer=?", (consumer,))
        return int(rows[0]["position"]) if rows else 0

    def all(self) -> dict[str, int]:
        return {
            str(r["consumer"]): int(r["position"])
            for r in self.db.query("SELECT consumer, position FROM consumer_cursors")
        }

    @staticmethod
    def save(conn: sqlite3.Connection, consumer: str, position: int) -> None:
        """Inside the consumer's transaction: its cursor moves with its effects, or neither."""
        conn.execute(
            "INSERT INTO consumer_cursors(consumer, position, updated_at) VALUES (?,?,?) "
            "ON CONFLICT(consumer) DO UPDATE SET position=excluded.position, "
            "updated_at=excluded.updated_at",
            (consumer, position, datetime.now(UTC).isoformat()),
        )

    @staticmethod
    def dead_letter(
        conn: sqlite3.Connection, consumer: str, entry: Committed, exc: BaseException
    ) -> None:
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
            "INSERT INTO consumer_dead_letters(consumer, position, entry, school, device_id, "
            "seq, error, detail, failed_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                consumer,
                entry.position,
                kind,
                school,
                device,
                seq,
                f"{type(exc).__name__}: {exc}"[:2000],
                "".join(traceback.format_exception(exc))[-8000:],
                datetime.now(UTC).isoformat(),
            ),
        )

    def dead_letters(
        self, consumer: str | None = None, limit: int = 100
    ) -> list[ConsumerDeadLetter]:
        """The newest dead letters first, of one consumer or of all."""
        where, params = ("WHERE consumer=? ", (consumer,)) if consumer else ("", ())
        rows = self.db.query(
            "SELECT consumer, position, entry, school, device_id, seq, error, detail, failed_at "
            f"FROM consumer_dead_letters {where}ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )
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
