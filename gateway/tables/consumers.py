"""Tables of the consumers of the commit log: their cursors and their dead letters."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, Table, Text

from gateway.tables import metadata

consumer_cursors = Table(
    "consumer_cursors",
    metadata,
    Column("consumer", Text, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("updated_at", Text, nullable=False),
)

consumer_dead_letters = Table(
    "consumer_dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("consumer", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("entry", Text, nullable=False),
    Column("school", Text),
    Column("device_id", Text),
    Column("seq", Integer),
    Column("error", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("failed_at", Text, nullable=False),
    Index("consumer_dead_letters_consumer", "consumer", "id"),
)
