"""HTTP push's table: each pushing device's token (its hash only) and its payload mapping."""

from __future__ import annotations

from sqlalchemy import Column, Table, Text

from gateway.tables import metadata

push_tokens = Table(
    "push_tokens",
    metadata,
    Column("school", Text, primary_key=True),
    Column("device_id", Text, primary_key=True),
    Column("mapping", Text, nullable=False),
    Column("token_sha256", Text, nullable=False, unique=True),  # a hash only, as for users
    Column("created_at", Text, nullable=False),
)
