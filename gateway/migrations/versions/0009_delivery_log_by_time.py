"""Revision 9: the delivery log indexed by time, for the retention sweep that deletes by age."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    indexes = {i["name"] for i in sa.inspect(op.get_bind()).get_indexes("alert_deliveries")}
    if "alert_deliveries_at" not in indexes:
        op.create_index("alert_deliveries_at", "alert_deliveries", ["at"])
