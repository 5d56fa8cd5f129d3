"""The table of fitness-test results, from devices and entered by staff."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, Table, Text, text

from gateway.tables import metadata

fitness_results = Table(
    "fitness_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lesson_id", Text, ForeignKey("lessons.id"), nullable=False),
    Column("student_id", Text, ForeignKey("students.id"), nullable=False),
    Column("item", Text, nullable=False),
    Column("value", Text, nullable=False),  # a Decimal as text: no binary rounding
    Column("unit", Text, nullable=False),
    Column("score", Integer),
    Column("bonus", Integer),
    Column("source", Text, CheckConstraint("source IN ('device', 'staff')"), nullable=False),
    Column("device_id", Text),
    Column("seq", Integer),
    Column("entered_by", Text),
    Column("measured_at", Text, nullable=False),
    Column("recorded_at", Text, nullable=False),
    # The student's grade and class when tested (NULL on rows from before revision 21).
    Column("grade", Text),
    Column("class_id", Text),
    CheckConstraint("(source = 'device') = (device_id IS NOT NULL AND seq IS NOT NULL)"),
    Index(
        "fitness_results_device_seq",
        "device_id",
        "seq",
        unique=True,
        sqlite_where=text("device_id IS NOT NULL"),
        postgresql_where=text("device_id IS NOT NULL"),
    ),
    Index("fitness_results_lesson", "lesson_id", "student_id"),
    Index("fitness_results_student", "student_id"),
)
