"""Remote management's table: commands sent to edge boxes and what each box did with them."""

from __future__ import annotations

from sqlalchemy import Column, Index, Table, Text

from gateway.tables import metadata

box_commands = Table(
    "box_commands",
    metadata,
    Column("id", Text, primary_key=True),  # also the command_id the box reports back
    Column("school", Text, nullable=False),
    Column("box", Text, nullable=False),
    Column("name", Text, nullable=False),  # config, rope or model
    Column("body", Text, nullable=False),  # the JSON sent, without the id
    Column("state", Text, nullable=False),  # queued, sent, applied, failed
    Column("detail", Text, nullable=False, server_default=""),  # the box's reason
    Column("created_by", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("sent_at", Text),
    Column("done_at", Text),
    # A model file download's one-time token (its hash) and until when it is good.
    Column("download_sha256", Text),
    Column("download_until", Text),
    Index("box_commands_by_box", "school", "box", "created_at"),
)
