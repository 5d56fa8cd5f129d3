"""The device registry's table: last status and traffic of every device heard from."""

from __future__ import annotations

from sqlalchemy import Column, Double, Integer, Table, Text

from gateway.tables import metadata

devices = Table(
    "devices",
    metadata,
    Column("device_id", Text, primary_key=True),
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
)
