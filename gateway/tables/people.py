"""Tables of API users and the audit log of reads of health data."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, Table, Text

from gateway.tables import metadata

users = Table(
    "users",
    metadata,
    Column("id", Text, primary_key=True),
    Column("display_name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("token_sha256", Text, nullable=False, unique=True),
    Column("created_at", Text, nullable=False),  # the database fills it in
    # When the token stops working (ISO text, UTC); set with every new token.
    Column("token_expires_at", Text),
)

# The schools whose data a user sees (alerts, referrals, lessons); none: no school's.
user_schools = Table(
    "user_schools",
    metadata,
    Column("user_id", Text, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("school", Text, primary_key=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("subject_type", Text, nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
    Index("audit_subject", "subject_type", "subject_id"),
)
