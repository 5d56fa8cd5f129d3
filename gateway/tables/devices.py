"""The device registry's table: last status and traffic of every device heard from, per school."""

from __future__ import annotations

from sqlalchemy import Column, Double, Integer, PrimaryKeyConstraint, Table, Text

from gateway.tables import metadata

devices = Table(
    "devices",
    metadata,
    Column("device_id", Text, nullable=False),
    Column("school", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("state", Text, nullable=False, server_default="unknown"),
    Column("firmware", Text),
    Column("battery_pct", Double),
    Column("model_versions", Text, nullable=False, server_default="{}"),
    Column("config_version", Text),
    Column("detail", Text),
    Column("status_at", Text),
    Column("last_seen", Text),
    Column("messages", Integer, nullable=False, server_default="0"),
    Column("stopped", Integer, nullable=False, server_default="0"),
    Column("edge_id", Text),
    # One device id may be used by two schools (revision 8).
    PrimaryKeyConstraint("school", "device_id"),
)
