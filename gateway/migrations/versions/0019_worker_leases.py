"""Revision 19: gateway workers and the schools they hold, for several workers on one database
(it follows revision 20)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("gateway_workers"):
        return  # a schema set back to an earlier revision and upgraded again keeps it
    op.create_table(
        "gateway_workers",
        sa.Column("worker_id", sa.Text, primary_key=True),
        sa.Column("instance", sa.Text, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_table(
        "school_leases",
        sa.Column("school", sa.Text, primary_key=True),
        sa.Column("worker_id", sa.Text, nullable=False),
        sa.Column("instance", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("school_leases")
    op.drop_table("gateway_workers")
