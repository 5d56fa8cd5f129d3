"""Revision 1: the schema as the release before revisions created it, table for table.

Every statement is `IF NOT EXISTS`, so a state file written by that release (which has these
tables and no version table) upgrades in place. SQLite runs the statements exactly as that
release did; PostgreSQL runs them with its spelling of three things (see `_postgresql`).
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the modules' CREATE statements of that release: never edit them; a change
# of schema is a new revision.
SCHEMAS = {
    "auth": """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
""",
    "audit": """
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_subject ON audit_log(subject_type, subject_id);
""",
    "roster": """
CREATE TABLE IF NOT EXISTS classes (
    id TEXT PRIMARY KEY,
    school TEXT NOT NULL,
    name TEXT NOT NULL,
    grade TEXT NOT NULL,
    pe_teacher_id TEXT
);
CREATE TABLE IF NOT EXISTS students (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    sex TEXT NOT NULL CHECK (sex IN ('M', 'F')),
    birth_date TEXT NOT NULL,
    class_id TEXT NOT NULL REFERENCES classes(id)
);
CREATE TABLE IF NOT EXISTS cards (
    card_id TEXT PRIMARY KEY,
    student_id TEXT NOT NULL REFERENCES students(id)
);
CREATE TABLE IF NOT EXISTS lessons (
    id TEXT PRIMARY KEY,
    class_id TEXT NOT NULL REFERENCES classes(id),
    teacher_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE TABLE IF NOT EXISTS assignments (
    lesson_id TEXT NOT NULL REFERENCES lessons(id),
    device_id TEXT NOT NULL,
    student_id TEXT NOT NULL REFERENCES students(id),
    PRIMARY KEY (lesson_id, device_id)
);
CREATE INDEX IF NOT EXISTS assignments_device ON assignments(device_id);
""",
    "devices": """
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY,
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
    edge_id TEXT
);
""",
    "alerts.lifecycle": """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    rule TEXT NOT NULL,
    school TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    summary TEXT NOT NULL,
    student_id TEXT,
    class_id TEXT,
    lesson_id TEXT,
    teacher_id TEXT,
    device_id TEXT,
    detail TEXT NOT NULL DEFAULT '{}',
    count INTEGER NOT NULL DEFAULT 1,
    opened_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    resolved_at TEXT,
    resolved_by TEXT,
    outcome TEXT,
    last_notified_at TEXT,
    notify_count INTEGER NOT NULL DEFAULT 0,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    silenced INTEGER NOT NULL DEFAULT 0
);
-- At most one unresolved alert per key: the database enforces the deduplication.
CREATE UNIQUE INDEX IF NOT EXISTS alerts_active_key ON alerts(key) WHERE state != 'resolved';
CREATE INDEX IF NOT EXISTS alerts_school_opened ON alerts(school, opened_at);
CREATE TABLE IF NOT EXISTS alert_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id INTEGER NOT NULL REFERENCES alerts(id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS alert_events_alert ON alert_events(alert_id);
-- Which stored message fed which alert: a redelivered message is recognised and ignored.
CREATE TABLE IF NOT EXISTS alert_sources (
    rule TEXT NOT NULL,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    alert_id INTEGER NOT NULL REFERENCES alerts(id),
    PRIMARY KEY (rule, device_id, seq)
);
CREATE TABLE IF NOT EXISTS silences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    school TEXT NOT NULL,
    rule TEXT,
    device_id TEXT,
    class_id TEXT,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    reason TEXT NOT NULL
);
""",
    "alerts.referrals": """
CREATE TABLE IF NOT EXISTS vision_screenings (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    school TEXT NOT NULL,
    student_id TEXT NOT NULL,
    at TEXT NOT NULL,
    acuity_left REAL, acuity_right REAL,
    se_left REAL, se_right REAL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX IF NOT EXISTS vision_screenings_student ON vision_screenings(student_id, at);
CREATE TABLE IF NOT EXISTS referrals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    school TEXT NOT NULL,
    student_id TEXT NOT NULL,
    class_id TEXT,
    screened_at TEXT NOT NULL,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    findings TEXT NOT NULL,
    worst_grade TEXT,
    status TEXT NOT NULL DEFAULT 'open',
    updated_by TEXT,
    updated_at TEXT,
    UNIQUE (device_id, seq)
);
""",
    "alerts.delivery.log": """
CREATE TABLE IF NOT EXISTS alert_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    status TEXT NOT NULL,
    http_status INTEGER,
    error TEXT,
    alert_ids TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_deliveries_notification ON alert_deliveries(notification_id);
""",
    "alerts.delivery.outbox": """
CREATE TABLE IF NOT EXISTS webhook_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    alert_ids TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    queued_at TEXT NOT NULL,
    UNIQUE (target, notification_id)
);
""",
    "alerts.rules.warning_level": """
CREATE TABLE IF NOT EXISTS absences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    school TEXT NOT NULL,
    day TEXT NOT NULL,
    student_id TEXT NOT NULL,
    class_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    symptoms TEXT NOT NULL DEFAULT '',
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (day, student_id)
);
CREATE TABLE IF NOT EXISTS warning_level_state (
    school TEXT NOT NULL,
    scope TEXT NOT NULL,
    day TEXT NOT NULL,
    level TEXT NOT NULL,
    PRIMARY KEY (school, scope, day)
);
""",
    "fitness.results": """
CREATE TABLE IF NOT EXISTS fitness_results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lesson_id TEXT NOT NULL REFERENCES lessons(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    item TEXT NOT NULL,
    value TEXT NOT NULL,
    unit TEXT NOT NULL,
    score INTEGER,
    bonus INTEGER,
    source TEXT NOT NULL CHECK (source IN ('device', 'staff')),
    device_id TEXT,
    seq INTEGER,
    entered_by TEXT,
    measured_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    CHECK ((source = 'device') = (device_id IS NOT NULL AND seq IS NOT NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS fitness_results_device_seq
    ON fitness_results(device_id, seq) WHERE device_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS fitness_results_lesson ON fitness_results(lesson_id, student_id);
CREATE INDEX IF NOT EXISTS fitness_results_student ON fitness_results(student_id);
""",
}


def _postgresql(sql: str) -> str:
    """SQLite's DDL as PostgreSQL takes it: identity keys, 8-byte REAL, a UTC default."""
    sql = sql.replace(
        "INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    )
    sql = re.sub(r"\bREAL\b", "DOUBLE PRECISION", sql)
    # text() reads ":name" as a parameter; "\:" is a colon.
    return sql.replace(
        "(strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
        "(to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24\\:MI\\:SS.MS\"Z\"'))",
    )


def _statements(sql: str) -> list[str]:
    without_comments = "\n".join(
        line for line in sql.splitlines() if not line.lstrip().startswith("--")
    )
    return [s.strip() for s in without_comments.split(";") if s.strip()]


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for schema in SCHEMAS.values():
        for statement in _statements(_postgresql(schema) if postgresql else schema):
            op.execute(sa.text(statement))
