"""Webhook deliveries not yet done, kept in the state database so that a restart resumes them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import RowMapping, delete, func, select, update

from gateway.state import StateDB, dialect_insert
from gateway.tables.alerts import webhook_outbox as outbox


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
                select(func.count()).select_from(outbox).where(outbox.c.target == target)
            ).scalar_one()
            if waiting >= limit:
                return False
            # The same notification queued twice for one target is one delivery.
            conn.execute(
                dialect_insert(conn, outbox)
                .values(
                    target=target,
                    notification_id=notification_id,
                    alert_ids=json.dumps(alert_ids),
                    body=json.dumps(body),
                    queued_at=datetime.now(UTC).isoformat(),
                )
                .on_conflict_do_nothing()
            )
        return True

    def next(self, target: str) -> Pending | None:
        rows = self.db.query(
            select(outbox).where(outbox.c.target == target).order_by(outbox.c.id).limit(1)
        )
        return _pending(rows[0]) if rows else None

    def attempted(self, row_id: int, attempts: int) -> None:
        with self.db.transaction() as conn:
            conn.execute(update(outbox).where(outbox.c.id == row_id).values(attempts=attempts))

    def done(self, row_id: int) -> None:
        with self.db.transaction() as conn:
            conn.execute(delete(outbox).where(outbox.c.id == row_id))

    def targets(self) -> set[str]:
        """Targets with deliveries waiting (left by an earlier run, after a restart)."""
        return {r["target"] for r in self.db.query(select(outbox.c.target).distinct())}

    def pending(self, target: str) -> list[Pending]:
        rows = self.db.query(select(outbox).where(outbox.c.target == target).order_by(outbox.c.id))
        return [_pending(r) for r in rows]


def _pending(r: RowMapping) -> Pending:
    return Pending(
        r["id"],
        r["notification_id"],
        json.loads(r["alert_ids"]),
        json.loads(r["body"]),
        r["attempts"],
    )
