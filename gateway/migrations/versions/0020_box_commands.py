"""Revision 20: commands sent to edge boxes (remote management) and their results."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("box_commands"):
        return
    op.create_table(
        "box_commands",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("school", sa.Text, nullable=False),
        sa.Column("box", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("sent_at", sa.Text),
        sa.Column("done_at", sa.Text),
        sa.Column("download_sha256", sa.Text),
        sa.Column("download_until", sa.Text),
    )
    op.create_index("box_commands_by_box", "box_commands", ["school", "box", "created_at"])
