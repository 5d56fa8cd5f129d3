"""Tables of the health records: vision screenings, referrals, absences, warning levels."""

from __future__ import annotations

from sqlalchemy import Column, Double, Index, Integer, Table, Text, UniqueConstraint

from gateway.tables import metadata

vision_screenings = Table(
    "vision_screenings",
    metadata,
    Column("device_id", Text, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("school", Text, nullable=False),
    Column("student_id", Text, nullable=False),
    Column("at", Text, nullable=False),
    Column("acuity_left", Double),
    Column("acuity_right", Double),
    Column("se_left", Double),
    Column("se_right", Double),
    # The refraction behind the spherical equivalent (dioptres; axis in degrees), for the
    # national upload file. NULL for screenings stored before revision 22 or sent without it.
    Column("sphere_left", Double),
    Column("sphere_right", Double),
    Column("cylinder_left", Double),
    Column("cylinder_right", Double),
    Column("axis_left", Double),
    Column("axis_right", Double),
    Index("vision_screenings_student", "student_id", "at"),
)

referrals = Table(
    "referrals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("school", Text, nullable=False),
    Column("student_id", Text, nullable=False),
    Column("class_id", Text),
    Column("screened_at", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("findings", Text, nullable=False),
    Column("worst_grade", Text),
    Column("status", Text, nullable=False, server_default="open"),
    Column("updated_by", Text),
    Column("updated_at", Text),
    UniqueConstraint("device_id", "seq"),
)

absences = Table(
    "absences",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("school", Text, nullable=False),
    Column("day", Text, nullable=False),
    Column("student_id", Text, nullable=False),
    Column("class_id", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("symptoms", Text, nullable=False, server_default=""),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", Text, nullable=False),
    UniqueConstraint("day", "student_id"),
)

warning_level_state = Table(
    "warning_level_state",
    metadata,
    Column("school", Text, primary_key=True),
    Column("scope", Text, primary_key=True),
    Column("day", Text, primary_key=True),
    Column("level", Text, nullable=False),
)
