"""Tables of districts: a named set of schools, and the district each district user reads."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Table, Text

from gateway.tables import metadata

districts = Table(
    "districts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
)

# A school belongs to one district at most: one thresholds file and one roll-up apply to it.
district_schools = Table(
    "district_schools",
    metadata,
    Column("school", Text, primary_key=True),
    Column("district_id", Text, ForeignKey("districts.id", ondelete="CASCADE"), nullable=False),
)

# The district a `district` user reads aggregates of (one each).
user_districts = Table(
    "user_districts",
    metadata,
    Column("user_id", Text, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("district_id", Text, ForeignKey("districts.id", ondelete="CASCADE"), nullable=False),
)
