"""Revision 2: the devices columns added after the first release (`stopped`, `edge_id`).

A devices table made by the first release lacks them (revision 1 leaves an existing table
alone); one made later has them, and this revision changes nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("devices")}
    if "stopped" not in have:
        op.add_column(
            "devices", sa.Column("stopped", sa.Integer, nullable=False, server_default="0")
        )
    if "edge_id" not in have:
        op.add_column("devices", sa.Column("edge_id", sa.Text))
