"""Absences entered by health staff, and the illness absences the warning levels count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import bindparam, select

from gateway.state import StateDB, upsert
from gateway.tables.health import absences

ABSENCE_REASONS = ("illness", "other")


@dataclass(frozen=True)
class AbsentStudent:
    """A student absent for illness on some day of a span, with the class they were in."""

    student_id: str
    class_id: str


class IllnessAbsences(Protocol):
    """What the warning-level rule reads of the absences: nothing else of the health records."""

    def absent_for_illness(self, school: str, first: date, last: date) -> list[AbsentStudent]:
        """Distinct students of *school* absent for illness on a day from *first* to *last*."""
        ...


# Built once: the warning-level rule asks on every fever.
_ILLNESS = (
    select(absences.c.student_id, absences.c.class_id)
    .distinct()
    .where(
        absences.c.school == bindparam("school"),
        absences.c.day >= bindparam("first"),
        absences.c.day <= bindparam("last"),
        absences.c.reason == "illness",
    )
)


class Absences:
    """The absences table: one row per student and day."""

    def __init__(self, db: StateDB) -> None:
        self.db = db

    def record(
        self,
        school: str,
        day: date,
        student_id: str,
        class_id: str,
        reason: str,
        symptoms: str,
        user_id: str,
        at: datetime,
    ) -> None:
        """Store an absence; a second entry for the student that day overwrites what it says."""
        if reason not in ABSENCE_REASONS:
            raise ValueError(f"reason must be one of {', '.join(ABSENCE_REASONS)}")
        with self.db.transaction() as conn:
            # ...but not who and where: the school and class stay those of the first entry.
            row = {
                "school": school,
                "day": day.isoformat(),
                "student_id": student_id,
                "class_id": class_id,
                "reason": reason,
                "symptoms": symptoms,
                "recorded_by": user_id,
                "recorded_at": at.isoformat(),
            }
            upsert(conn, absences, row, keys=["day", "student_id"], keep=["school", "class_id"])

    def absent_for_illness(self, school: str, first: date, last: date) -> list[AbsentStudent]:
        rows = self.db.query(
            _ILLNESS, {"school": school, "first": first.isoformat(), "last": last.isoformat()}
        )
        return [AbsentStudent(r["student_id"], r["class_id"]) for r in rows]
