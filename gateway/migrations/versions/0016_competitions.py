"""Revision 16: the rope-skipping competition: definitions, results (ranked or held for review)
and each rope's newest running count."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("competitions"):
        return  # a schema set back to an earlier revision and upgraded again keeps it
    op.create_table(
        "competitions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("defined_by", sa.Text, nullable=False),
        sa.Column("defined_at", sa.Text, nullable=False),
    )
    op.create_table(
        "competition_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("competition_id", sa.Text, nullable=False),
        sa.Column("round_id", sa.Text),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("school", sa.Text, nullable=False),
        sa.Column("device_id", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("student_id", sa.Text),
        sa.Column("class_id", sa.Text),
        sa.Column("grade", sa.Text),
        sa.Column("sex", sa.Text),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("trips", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Text, nullable=False),
        sa.Column("finished_at", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("reviewed_by", sa.Text),
        sa.Column("reviewed_at", sa.Text),
        sa.Column("recorded_at", sa.Text, nullable=False),
        sa.UniqueConstraint(
            "competition_id", "school", "device_id", "seq", name="competition_results_set"
        ),
    )
    op.create_index(
        "competition_results_status", "competition_results", ["competition_id", "status"]
    )
    op.create_table(
        "rope_progress",
        sa.Column("school", sa.Text, primary_key=True),
        sa.Column("device_id", sa.Text, primary_key=True),
        sa.Column("last_at", sa.Text, nullable=False),
    )
