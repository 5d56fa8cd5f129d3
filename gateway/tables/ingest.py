"""Ingest's table: per device, the sequence number up to which everything is stored."""

from __future__ import annotations

from sqlalchemy import Column, Integer, Table, Text

from gateway.tables import metadata

stored_watermarks = Table(
    "stored_watermarks",
    metadata,
    Column("school", Text, primary_key=True),
    Column("device_id", Text, primary_key=True),
    Column("seq", Integer, nullable=False),
)
