"""Revision 21: each fitness result keeps the grade and class its student had when tested, so a
growth record places a past year in the grade it was taken in (rows from before stay NULL)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("fitness_results")}
    with op.batch_alter_table("fitness_results") as batch:
        if "grade" not in have:
            batch.add_column(sa.Column("grade", sa.Text))
        if "class_id" not in have:
            batch.add_column(sa.Column("class_id", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("fitness_results") as batch:
        batch.drop_column("class_id")
        batch.drop_column("grade")
