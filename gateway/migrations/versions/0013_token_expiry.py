"""Revision 13: API tokens expire. Tokens issued before never did; they get 30 days from the
upgrade, so that nobody is locked out at once and every old token still ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("users")}
    if "token_expires_at" in have:
        return
    op.add_column("users", sa.Column("token_expires_at", sa.Text))
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat(timespec="seconds")
    users = sa.table("users", sa.column("token_expires_at", sa.Text))
    op.execute(users.update().values(token_expires_at=expires))
