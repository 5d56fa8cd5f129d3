"""Revision 3: gate and screener ids enrolled in lower case stored in capitals.

Before ids were normalised, an id enrolled in lower case would never match what the devices
send. Each is rewritten as devices send it, unless that id is enrolled already (then the old
row stays as it is, and `withdraw_card` still finds it as given).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from drivers.subject_ids import as_sent

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    enrolled = {str(r[0]) for r in conn.execute(sa.text("SELECT card_id FROM cards"))}
    for card_id in sorted(enrolled):
        wanted = as_sent(card_id)
        if wanted != card_id and wanted not in enrolled:
            conn.execute(
                sa.text("UPDATE cards SET card_id=:new WHERE card_id=:old"),
                {"new": wanted, "old": card_id},
            )
            enrolled.add(wanted)
