"""A student's growth record read from the state database: results and vision screenings."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from gateway.fitness.growth import GrowthRecord, Screening, growth_record
from gateway.fitness.results import FitnessResults
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


def read_growth(results: FitnessResults, student: Student, now: datetime) -> GrowthRecord:
    return growth_record(
        results.standard,
        student,
        results.rows(student_id=student.id),
        screenings_of(results, student.id),
        now,
    )
