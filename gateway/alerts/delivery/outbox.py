"""Webhook deliveries not yet done, kept in the state database so that a restart resumes them."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, delete, func, or_, select, update

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


# How long a claimed delivery stays with a worker that stopped renewing it (it died).
CLAIM_LEASE = timedelta(minutes=10)


def _utc_text(at: datetime) -> str:
    """Fixed-width UTC text: SQL compares claim times as instants."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class WebhookOutbox:
    """Rows in order of queueing per target; a row goes when delivered or given up.

    Gateway workers sharing one PostgreSQL take rows with `claim`: a row is delivered by one
    worker at a time, and another takes it over only when that worker's lease lapses.
    """

    def __init__(
        self, db: StateDB, worker: str | None = None, lease: timedelta = CLAIM_LEASE
    ) -> None:
        self.db = db
        # Stable across restarts of one host's gateway, so that it takes its own rows back at
        # once; workers on one host that share a state database each need their own name.
        self.worker = worker or socket.gethostname()
        self.lease = lease

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

    def claim(self, target: str, now: datetime | None = None) -> Pending | None:
        """The oldest delivery for *target* that no other worker holds, now held by this one.

        One transaction: on PostgreSQL the row is read `FOR UPDATE SKIP LOCKED`, so that two
        workers claiming at once take different rows, never the same one.
        """
        at = now or datetime.now(UTC)
        o = outbox.c
        with self.db.transaction() as conn:
            row = (
                conn.execute(
                    select(outbox)
                    .where(
                        o.target == target,
                        or_(
                            o.claimed_until.is_(None),
                            o.claimed_until < _utc_text(at),
                            o.claimed_by == self.worker,
                        ),
                    )
                    .order_by(o.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            conn.execute(
                update(outbox)
                .where(o.id == row["id"])
                .values(claimed_by=self.worker, claimed_until=_utc_text(at + self.lease))
            )
        return _pending(row)

    def attempted(self, row_id: int, attempts: int) -> None:
        """Count an attempt; the claim is renewed, as the worker is alive."""
        with self.db.transaction() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == row_id)
                .values(
                    attempts=attempts,
                    claimed_by=self.worker,
                    claimed_until=_utc_text(datetime.now(UTC) + self.lease),
                )
            )

    def done(self, row_id: int) -> None:
        with self.db.transaction() as conn:
            conn.execute(delete(outbox).where(outbox.c.id == row_id))

    def expire(self, before: datetime) -> list[tuple[str, Pending]]:
        """Remove deliveries queued before *before* (retention: a receiver down for longer
        will not want them); returns (target, delivery) of each, for the delivery log."""
        cutoff = before.astimezone(UTC).isoformat()
        with self.db.transaction() as conn:
            rows = (
                conn.execute(
                    select(outbox).where(outbox.c.queued_at < cutoff).order_by(outbox.c.id)
                )
                .mappings()
                .all()
            )
            conn.execute(delete(outbox).where(outbox.c.queued_at < cutoff))
        return [(r["target"], _pending(r)) for r in rows]

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
