"""Revision 7: consumer cursors and consumer dead letters.

A release between revisions 0 and 7 made these tables at start (`CREATE TABLE IF NOT
EXISTS`); such a file keeps them, and their rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    have = set(sa.inspect(op.get_bind()).get_table_names())
    if "consumer_cursors" not in have:
        op.create_table(
            "consumer_cursors",
            sa.Column("consumer", sa.Text, primary_key=True),
            sa.Column("position", sa.Integer, nullable=False),
            sa.Column("updated_at", sa.Text, nullable=False),
        )
    if "consumer_dead_letters" not in have:
        op.create_table(
            "consumer_dead_letters",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("consumer", sa.Text, nullable=False),
            sa.Column("position", sa.Integer, nullable=False),
            sa.Column("entry", sa.Text, nullable=False),
            sa.Column("school", sa.Text),
            sa.Column("device_id", sa.Text),
            sa.Column("seq", sa.Integer),
            sa.Column("error", sa.Text, nullable=False),
            sa.Column("detail", sa.Text, nullable=False),
            sa.Column("failed_at", sa.Text, nullable=False),
        )
        op.create_index(
            "consumer_dead_letters_consumer", "consumer_dead_letters", ["consumer", "id"]
        )
