"""Revision 6: per device, the highest sequence number up to which everything is stored.

A release between revisions 0 and 6 made the table at start (`CREATE TABLE IF NOT EXISTS`);
such a file keeps it, and its rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("stored_watermarks"):
        return
    op.create_table(
        "stored_watermarks",
        sa.Column("school", sa.Text, nullable=False),
        sa.Column("device_id", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("school", "device_id"),
    )
