"""Revision 22: a vision screening keeps each eye's sphere, cylinder and axis, which the national
upload file asks for (rows from before keep only the spherical equivalent: NULL)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

COLUMNS = tuple(
    f"{what}_{eye}" for what in ("sphere", "cylinder", "axis") for eye in ("left", "right")
)


def upgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("vision_screenings")}
    with op.batch_alter_table("vision_screenings") as batch:
        for name in COLUMNS:
            if name not in have:
                batch.add_column(sa.Column(name, sa.Double))


def downgrade() -> None:
    with op.batch_alter_table("vision_screenings") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
