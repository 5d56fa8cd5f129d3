"""Tables of the fleet registry: broker logins, the devices each box may publish for."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, Table, Text

from gateway.tables import metadata

fleet_identity = Table(
    "fleet_identity",
    metadata,
    Column("username", Text, primary_key=True),
    Column("role", Text, CheckConstraint("role IN ('box', 'gateway')"), nullable=False),
    Column("school", Text),
    Column("box", Text),
    Column("password_hash", Text, nullable=False),  # a hash only: secrets are never stored
    Column("created_at", Text, nullable=False),
    Column("revoked_at", Text),
)

fleet_device = Table(
    "fleet_device",
    metadata,
    Column("school", Text, primary_key=True),
    Column("device_id", Text, primary_key=True),
    Column(
        "username",
        Text,
        ForeignKey("fleet_identity.username", ondelete="CASCADE"),
        nullable=False,
    ),
)

fleet_broker = Table(
    "fleet_broker",
    metadata,
    Column("id", Integer, CheckConstraint("id = 1"), primary_key=True, autoincrement=False),
    Column("out_dir", Text, nullable=False),
)

# One row, bumped by every change of the registry, so that a running gateway can tell with one
# read by primary key whether its in-memory copy of the enrolled devices is still current.
fleet_changes = Table(
    "fleet_changes",
    metadata,
    Column("id", Integer, CheckConstraint("id = 1"), primary_key=True, autoincrement=False),
    Column("generation", Integer, nullable=False),
)
