"""Revision 12: the fleet registry's change counter, which strict enrolment in ingest watches."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("fleet_changes"):
        return  # a schema set back to an earlier revision and upgraded again keeps it
    op.create_table(
        "fleet_changes",
        sa.Column(
            "id", sa.Integer, sa.CheckConstraint("id = 1"), primary_key=True, autoincrement=False
        ),
        sa.Column("generation", sa.Integer, nullable=False),
    )
