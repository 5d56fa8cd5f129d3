"""Revision 8: devices are keyed by (school, device_id), so two schools may use one device id.

SQLite cannot change a primary key in place: the table is rebuilt with the new key and its
rows copied. A file a release between revisions 7 and 8 re-keyed at start is left alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Frozen: the devices table as this revision makes it.
SQLITE_DEVICES = """
CREATE TABLE devices (
    device_id TEXT NOT NULL,
    school TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'unknown',
    firmware TEXT,
    battery_pct REAL,
    model_versions TEXT NOT NULL DEFAULT '{}',
    config_version TEXT,
    detail TEXT,
    status_at TEXT,
    last_seen TEXT,
    messages INTEGER NOT NULL DEFAULT 0,
    stopped INTEGER NOT NULL DEFAULT 0,
    edge_id TEXT,
    PRIMARY KEY (school, device_id)
)
"""


def upgrade() -> None:
    bind = op.get_bind()
    key = sa.inspect(bind).get_pk_constraint("devices")
    if set(key["constrained_columns"]) == {"school", "device_id"}:
        return
    if bind.dialect.name == "postgresql":
        op.drop_constraint(key["name"] or "devices_pkey", "devices", type_="primary")
        op.create_primary_key("devices_pkey", "devices", ["school", "device_id"])
        return
    columns = ", ".join(c["name"] for c in sa.inspect(bind).get_columns("devices"))
    op.execute("ALTER TABLE devices RENAME TO devices_by_id")
    op.execute(SQLITE_DEVICES)
    op.execute(f"INSERT INTO devices ({columns}) SELECT {columns} FROM devices_by_id")
    op.execute("DROP TABLE devices_by_id")
