"""Revision 4: silence times stored as fixed-width UTC text, so that SQL compares instants.

Older rows may carry another offset or none at all (taken as UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _utc_text(stored: str) -> str:
    at = datetime.fromisoformat(stored)
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, starts_at, ends_at FROM silences")).all()
    for silence_id, starts_at, ends_at in rows:
        starts, ends = _utc_text(str(starts_at)), _utc_text(str(ends_at))
        if (starts, ends) != (starts_at, ends_at):
            conn.execute(
                sa.text("UPDATE silences SET starts_at=:s, ends_at=:e WHERE id=:id"),
                {"s": starts, "e": ends, "id": silence_id},
            )
