"""Revision 14: users belong to schools and see only theirs.

Users made before saw every school; so that an upgrade takes nothing away from anyone, each
is given every school the state database knows of (classes, alerts, referrals, devices).
Campus IT then narrows them with `campusedge gateway user schools ID --school S`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if sa.inspect(bind).has_table("user_schools"):
        return
    op.create_table(
        "user_schools",
        sa.Column(
            "user_id",
            sa.Text,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("school", sa.Text, primary_key=True),
    )
    known = sa.union(
        *(
            sa.select(sa.table(name, sa.column("school")).c.school)
            for name in ("classes", "alerts", "referrals", "devices")
        )
    ).subquery()
    users = sa.table("users", sa.column("id"))
    op.execute(
        sa.table("user_schools", sa.column("user_id"), sa.column("school"))
        .insert()
        .from_select(
            ["user_id", "school"],
            # Every user with every school: a cross join, said as one.
            sa.select(users.c.id, known.c.school).select_from(users.join(known, sa.true())),
        )
    )
