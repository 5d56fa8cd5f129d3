"""The delivery log: every attempt to deliver a notification, with its outcome."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select

from gateway.alerts.metrics import AlertMetrics
from gateway.state import StateDB
from gateway.tables.alerts import alert_deliveries


@dataclass(frozen=True)
class DeliveryRecord:
    notification_id: str
    channel: str
    target: str
    attempt: int
    status: str  # delivered | failed (will retry) | gave_up
    http_status: int | None
    error: str | None
    alert_ids: list[int]
    at: datetime


class DeliveryLog:
    def __init__(self, db: StateDB, metrics: AlertMetrics | None = None) -> None:
        self.db = db
        self.metrics = metrics

    def record(
        self,
        notification_id: str,
        channel: str,
        target: str,
        attempt: int,
        status: str,
        alert_ids: list[int],
        http_status: int | None = None,
        error: str | None = None,
    ) -> None:
        if self.metrics is not None:
            self.metrics.deliveries.labels(target=target, status=status).inc()
        with self.db.transaction() as conn:
            conn.execute(
                insert(alert_deliveries).values(
                    notification_id=notification_id,
                    channel=channel,
                    target=target,
                    attempt=attempt,
                    status=status,
                    http_status=http_status,
                    error=(error or "")[:500] or None,
                    alert_ids=json.dumps(alert_ids),
                    at=datetime.now(UTC).isoformat(),
                )
            )

    def delete_before(self, before: datetime) -> int:
        """Remove entries older than *before* (retention); returns how many."""
        with self.db.transaction() as conn:
            return conn.execute(
                delete(alert_deliveries).where(
                    alert_deliveries.c.at < before.astimezone(UTC).isoformat()
                )
            ).rowcount

    def entries(
        self, *, notification_id: str | None = None, target: str | None = None, limit: int = 500
    ) -> list[DeliveryRecord]:
        query = select(alert_deliveries)
        if notification_id is not None:
            query = query.where(alert_deliveries.c.notification_id == notification_id)
        if target is not None:
            query = query.where(alert_deliveries.c.target == target)
        query = query.order_by(alert_deliveries.c.id.desc()).limit(limit)
        return [
            DeliveryRecord(
                r["notification_id"],
                r["channel"],
                r["target"],
                r["attempt"],
                r["status"],
                r["http_status"],
                r["error"],
                json.loads(r["alert_ids"]),
                datetime.fromisoformat(r["at"]),
            )
            for r in self.db.query(query)
        ]
