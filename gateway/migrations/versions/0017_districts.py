"""Revision 17: districts (named sets of schools) and the district each district user reads."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("districts"):
        return  # a schema set back to an earlier revision and upgraded again keeps it
    op.create_table(
        "districts",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
    )
    op.create_table(
        "district_schools",
        sa.Column("school", sa.Text, primary_key=True),
        sa.Column(
            "district_id",
            sa.Text,
            sa.ForeignKey("districts.id", ondelete="CASCADE"),
            nullable=False,
        ),
    )
    op.create_table(
        "user_districts",
        sa.Column(
            "user_id", sa.Text, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "district_id",
            sa.Text,
            sa.ForeignKey("districts.id", ondelete="CASCADE"),
            nullable=False,
        ),
    )
