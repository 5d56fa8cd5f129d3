"""A student's growth record read from the state database: results and vision screenings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select

from gateway.fitness.growth import GrowthRecord, Screening, growth_record
from gateway.fitness.results import FitnessResults, TestResult
from gateway.roster import Student
from gateway.tables.health import vision_screenings


def screenings_of(results: FitnessResults, student_id: str) -> list[Screening]:
    v = vision_screenings.c
    out: list[Screening] = []
    for r in results.db.query(select(vision_screenings).where(v.student_id == student_id)):
        at = datetime.fromisoformat(r["at"])
        out.append(
            Screening(
                at if at.tzinfo else at.replace(tzinfo=UTC),
                r["acuity_left"],
                r["acuity_right"],
                r["se_left"],
                r["se_right"],
            )
        )
    return out


def with_classes(results: FitnessResults, rows: list[TestResult]) -> list[TestResult]:
    """Rows from before results kept their class take their session's: a session is of one
    class, the one the student was tested in."""
    lessons: dict[str, str | None] = {}
    out: list[TestResult] = []
    for row in rows:
        if row.class_id is None:
            if row.lesson_id not in lessons:
                lesson = results.roster.lesson(row.lesson_id)
                lessons[row.lesson_id] = lesson.class_id if lesson else None
            row = replace(row, class_id=lessons[row.lesson_id])
        out.append(row)
    return out


def read_growth(results: FitnessResults, student: Student, now: datetime) -> GrowthRecord:
    return growth_record(
        results.standard,
        student,
        with_classes(results, results.rows(student_id=student.id)),
        screenings_of(results, student.id),
        now,
    )
