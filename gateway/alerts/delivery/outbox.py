"""Webhook deliveries not yet done, kept in the state database so that a restart resumes them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.state import StateDB

SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    alert_ids TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    queued_at TEXT NOT NULL,
    UNIQUE (target, notification_id)
);
"""


@dataclass(frozen=True)
class Pending:
    """One notification still to be delivered to one target."""

    id: int
    notification_id: str
    alert_ids: list[int]
    body: dict[str, Any]
    attempts: int  # attempts already made, by this process or one before it


class WebhookOutbox:
    """Rows in order of queueing per target; a row goes when delivered or given up."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.ensure(SCHEMA)

    def add(
        self,
        target: str,
        notification_id: str,
        alert_ids: list[int],
        body: dict[str, Any],
        limit: int,
    ) -> bool:
        """Queue a delivery; False when the target already has *limit* waiting."""
        with self.db.transaction() as conn:
            waiting = conn.execute(
                "SELECT COUNT(*) FROM webhook_outbox WHERE target=?", (target,)
            ).fetchone()[0]
            if waiting >= limit:
                return False
            # The same notification queued twice for one target is one delivery.
            conn.execute(
                "INSERT OR IGNORE INTO webhook_outbox(target, notification_id, alert_ids, body, "
                "queued_at) VALUES (?,?,?,?,?)",
                (
                    target,
                    notification_id,
                    json.dumps(alert_ids),
                    json.dumps(body),
                    datetime.now(UTC).isoformat(),
                ),
            )
        return True

    def next(self, target: str) -> Pending | None:
        rows = self.db.query(
            "SELECT * FROM webhook_outbox WHERE target=? ORDER BY id LIMIT 1", (target,)
        )
        if not rows:
            return None
        r = rows[0]
        return Pending(
            r["id"],
            r["notification_id"],
            json.loads(r["alert_ids"]),
            json.loads(r["body"]),
            r["attempts"],
        )

    def attempted(self, row_id: int, attempts: int) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE webhook_outbox SET attempts=? WHERE id=?", (attempts, row_id))

    def done(self, row_id: int) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM webhook_outbox WHERE id=?", (row_id,))

    def expire(self, before: datetime) -> list[tuple[str, Pending]]:
        """Remove deliveries queued before *before* (retention: a receiver down for longer
        will not want them); returns (target, delivery) of each, for the delivery log."""
        cutoff = before.astimezone(UTC).isoformat()
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM webhook_outbox WHERE queued_at < ? ORDER BY id", (cutoff,)
            ).fetchall()
            conn.execute("DELETE FROM webhook_outbox WHERE queued_at < ?", (cutoff,))
        return [
            (
                r["target"],
                Pending(
                    r["id"],
                    r["notification_id"],
                    json.loads(r["alert_ids"]),
                    json.loads(r["body"]),
                    r["attempts"],
                ),
            )
            for r in rows
        ]

    def targets(self) -> set[str]:
        """Targets with deliveries waiting (left by an earlier run, after a restart)."""
        return {r["target"] for r in self.db.query("SELECT DISTINCT target FROM webhook_outbox")}

    def pending(self, target: str) -> list[Pending]:
        rows = self.db.query("SELECT * FROM webhook_outbox WHERE target=? ORDER BY id", (target,))
        return [
            Pending(
                r["id"],
                r["notification_id"],
                json.loads(r["alert_ids"]),
                json.loads(r["body"]),
                r["attempts"],
            )
            for r in rows
        ]
