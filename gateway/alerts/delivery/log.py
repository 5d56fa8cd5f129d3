"""The delivery log: every attempt to deliver a notification, with its outcome."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.alerts.metrics import AlertMetrics
from gateway.state import StateDB

SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    status TEXT NOT NULL,
    http_status INTEGER,
    error TEXT,
    alert_ids TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_deliveries_notification ON alert_deliveries(notification_id);
CREATE INDEX IF NOT EXISTS alert_deliveries_at ON alert_deliveries(at);
"""


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
        db.ensure(SCHEMA)

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
                "INSERT INTO alert_deliveries(notification_id, channel, target, attempt, status, "
                "http_status, error, alert_ids, at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    notification_id,
                    channel,
                    target,
                    attempt,
                    status,
                    http_status,
                    (error or "")[:500] or None,
                    json.dumps(alert_ids),
                    datetime.now(UTC).isoformat(),
                ),
            )

    def delete_before(self, before: datetime) -> int:
        """Remove entries older than *before* (retention); returns how many."""
        with self.db.transaction() as conn:
            return conn.execute(
                "DELETE FROM alert_deliveries WHERE at < ?", (before.astimezone(UTC).isoformat(),)
            ).rowcount

    def entries(
        self, *, notification_id: str | None = None, target: str | None = None, limit: int = 500
    ) -> list[DeliveryRecord]:
        sql, params = "SELECT * FROM alert_deliveries WHERE 1=1", []
        if notification_id is not None:
            sql += " AND notification_id=?"
            params.append(notification_id)
        if target is not None:
            sql += " AND target=?"
            params.append(target)
        sql += " ORDER BY id DESC LIMIT ?"
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
            for r in self.db.query(sql, (*params, limit))
        ]
