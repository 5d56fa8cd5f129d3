"""Revision 10: the fleet registry (broker logins of boxes and gateway workers, their devices).

A release between revisions 9 and 10 made these tables at start (`CREATE TABLE IF NOT
EXISTS`); such a file keeps them, and their rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    have = set(sa.inspect(op.get_bind()).get_table_names())
    if "fleet_identity" not in have:
        op.create_table(
            "fleet_identity",
            sa.Column("username", sa.Text, primary_key=True),
            sa.Column(
                "role", sa.Text, sa.CheckConstraint("role IN ('box', 'gateway')"), nullable=False
            ),
            sa.Column("school", sa.Text),
            sa.Column("box", sa.Text),
            sa.Column("password_hash", sa.Text, nullable=False),
            sa.Column("created_at", sa.Text, nullable=False),
            sa.Column("revoked_at", sa.Text),
        )
    if "fleet_device" not in have:
        op.create_table(
            "fleet_device",
            sa.Column("school", sa.Text, primary_key=True),
            sa.Column("device_id", sa.Text, primary_key=True),
            sa.Column(
                "username",
                sa.Text,
                sa.ForeignKey("fleet_identity.username", ondelete="CASCADE"),
                nullable=False,
            ),
        )
    if "fleet_broker" not in have:
        op.create_table(
            "fleet_broker",
            sa.Column(
                "id",
                sa.Integer,
                sa.CheckConstraint("id = 1"),
                primary_key=True,
                autoincrement=False,
            ),
            sa.Column("out_dir", sa.Text, nullable=False),
        )
