"""Tables of classes, students, enrolled ids, lessons and device assignments."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, Table, Text

from gateway.tables import metadata

classes = Table(
    "classes",
    metadata,
    Column("id", Text, primary_key=True),
    Column("school", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("grade", Text, nullable=False),
    Column("pe_teacher_id", Text),
)

students = Table(
    "students",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("sex", Text, CheckConstraint("sex IN ('M', 'F')"), nullable=False),
    Column("birth_date", Text, nullable=False),
    Column("class_id", Text, ForeignKey("classes.id"), nullable=False),
)

cards = Table(
    "cards",
    metadata,
    Column("card_id", Text, primary_key=True),
    Column("student_id", Text, ForeignKey("students.id"), nullable=False),
)

lessons = Table(
    "lessons",
    metadata,
    Column("id", Text, primary_key=True),
    Column("class_id", Text, ForeignKey("classes.id"), nullable=False),
    Column("teacher_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("started_at", Text, nullable=False),
    Column("ended_at", Text),
)

assignments = Table(
    "assignments",
    metadata,
    Column("lesson_id", Text, ForeignKey("lessons.id"), primary_key=True),
    Column("device_id", Text, primary_key=True),
    Column("student_id", Text, ForeignKey("students.id"), nullable=False),
    Index("assignments_device", "device_id"),
)

# What happened to lessons, in order, for those who follow them (the alert engine resolves a
# lesson's signal-lost alerts when it ends): read by position with a saved cursor.
lesson_events = Table(
    "lesson_events",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=True),
    Column("lesson_id", Text, nullable=False),
    Column("event", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("at", Text, nullable=False),
)
