"""Revision 11: lesson events, which the roster records when a lesson ends (the alert engine
follows them with a cursor instead of ending lessons itself)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("lesson_events"):
        return  # a schema set back to an earlier revision and upgraded again keeps it
    op.create_table(
        "lesson_events",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("lesson_id", sa.Text, nullable=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at", sa.Text, nullable=False),
    )
