"""Revision 5: webhook deliveries are claimed by one gateway worker at a time.

`claimed_by` names the worker delivering a row, `claimed_until` (fixed-width UTC text) when
its claim lapses if that worker dies; rows of older releases start unclaimed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("webhook_outbox")}
    if "claimed_by" not in have:
        op.add_column("webhook_outbox", sa.Column("claimed_by", sa.Text))
    if "claimed_until" not in have:
        op.add_column("webhook_outbox", sa.Column("claimed_until", sa.Text))
