"""Tables of alerts, their history and sources, silences, and webhook deliveries."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from gateway.tables import metadata

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", Text, nullable=False),
    Column("rule", Text, nullable=False),
    Column("school", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("student_id", Text),
    Column("class_id", Text),
    Column("lesson_id", Text),
    Column("teacher_id", Text),
    Column("device_id", Text),
    Column("detail", Text, nullable=False, server_default="{}"),
    Column("count", Integer, nullable=False, server_default="1"),
    Column("opened_at", Text, nullable=False),
    Column("last_seen_at", Text, nullable=False),
    Column("acknowledged_at", Text),
    Column("acknowledged_by", Text),
    Column("resolved_at", Text),
    Column("resolved_by", Text),
    Column("outcome", Text),
    Column("last_notified_at", Text),
    Column("notify_count", Integer, nullable=False, server_default="0"),
    Column("escalation_level", Integer, nullable=False, server_default="0"),
    Column("silenced", Integer, nullable=False, server_default="0"),
    # At most one unresolved alert per key: the database enforces the deduplication.
    Index(
        "alerts_active_key",
        "key",
        unique=True,
        sqlite_where=text("state != 'resolved'"),
        postgresql_where=text("state != 'resolved'"),
    ),
    Index("alerts_school_opened", "school", "opened_at"),
)

alert_events = Table(
    "alert_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", Integer, ForeignKey("alerts.id"), nullable=False),
    Column("at", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("detail", Text, nullable=False, server_default="{}"),
    Index("alert_events_alert", "alert_id"),
)

# Which stored message fed which alert: a redelivered message is recognised and ignored.
alert_sources = Table(
    "alert_sources",
    metadata,
    Column("rule", Text, primary_key=True),
    Column("device_id", Text, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("alert_id", Integer, ForeignKey("alerts.id"), nullable=False),
)

silences = Table(
    "silences",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("school", Text, nullable=False),
    Column("rule", Text),
    Column("device_id", Text),
    Column("class_id", Text),
    Column("starts_at", Text, nullable=False),  # fixed-width UTC text (revision 4)
    Column("ends_at", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("reason", Text, nullable=False),
)

alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notification_id", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("http_status", Integer),
    Column("error", Text),
    Column("alert_ids", Text, nullable=False),
    Column("at", Text, nullable=False),
    Index("alert_deliveries_notification", "notification_id"),
    Index("alert_deliveries_at", "at"),  # the retention sweep deletes by age (revision 9)
)

webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target", Text, nullable=False),
    Column("notification_id", Text, nullable=False),
    Column("alert_ids", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("queued_at", Text, nullable=False),
    # The worker delivering the row, and when its claim lapses (revision 5).
    Column("claimed_by", Text),
    Column("claimed_until", Text),
    UniqueConstraint("target", "notification_id"),
)
