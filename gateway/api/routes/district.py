"""What a district user reads: aggregates over its district's schools, never a student.

Every count of fewer students than the gateway's `district_min_cell` (default 5) is null, and
each answer says so (`min_cell`, `note`). The district's schools are read at sign-in; a school
outside the district is answered as one that does not exist. Each read is audited.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel

from gateway.api.deps import (
    Alerts,
    AuditDep,
    DistrictUser,
    FitnessDep,
    GatewayDep,
    RosterDep,
    TranslatorDep,
)
from gateway.api.refusals import Refusal
from gateway.audit import AuditLog
from gateway.auth import User
from gateway.district.alerts_view import open_alert_counts
from gateway.district.fitness_view import grade_cells
from gateway.district.levels_view import district_level, school_cell
from gateway.fitness.summary import summarize
from gateway.i18n import N_

router = APIRouter(prefix="/api/district", tags=["district"])

NOTE = N_(
    "counts of fewer than {minimum} students are not shown (null): a group that small could "
    "identify a child"
)


class Suppression(BaseModel):
    district: str
    min_cell: int
    note: str


class SchoolLevelPublic(BaseModel):
    school: str
    day: date
    level: str
    cases: int | None
    fevers: int | None
    illness_absences: int | None
    unconfirmed_screens: int | None
    window_cases: int | None
    window_days: int | None
    # Who set the thresholds this school is judged by (the district's own file, or the
    # deployment's).
    owner: str


class DistrictLevelsPublic(Suppression):
    level: str  # the highest level among the district's schools
    schools_by_level: dict[str, int]
    schools: list[SchoolLevelPublic]


class ItemPublic(BaseModel):
    item: str
    unit: str | None
    tested: int | None
    mean: float | None
    median: float | None
    levels: dict[str, int | None]
    shares: dict[str, float | None]
    suppressed: bool


class GradePublic(BaseModel):
    school: str
    grade: str
    students: int
    tested: int | None
    items: list[ItemPublic]
    with_total: int | None
    total_levels: dict[str, int | None]
    total_shares: dict[str, float | None]
    suppressed: bool


class DistrictFitnessPublic(Suppression):
    grades: list[GradePublic]


class AlertCountPublic(BaseModel):
    school: str
    rule: str
    severity: str
    open: int | None


class DistrictAlertsPublic(Suppression):
    counts: list[AlertCountPublic]


@dataclass(frozen=True)
class Reading:
    """A district user's read: who, of which district, and how small a count may be shown."""

    user: User
    district: str
    minimum: int
    note: str


def _reading(user: DistrictUser, gateway: GatewayDep, translator: TranslatorDep) -> Reading:
    # A district user without a district (their district was removed) reads nothing.
    if user.district is None:
        raise Refusal(status.HTTP_403_FORBIDDEN, N_("you belong to no district"))
    minimum = gateway.settings.district_min_cell
    return Reading(user, user.district, minimum, translator.gettext(NOTE).format(minimum=minimum))


Reader = Annotated[Reading, Depends(_reading)]
SchoolFilter = Annotated[
    str | None, Query(description="one school of the district (default: all of them)")
]


def _schools(reading: Reading, school: str | None) -> list[str]:
    """The schools asked for: the district's, or the one named if it is of the district (a
    school of another district is answered as one that does not exist)."""
    schools = reading.user.district_schools
    if school is None:
        return sorted(schools)
    if school not in schools:
        raise Refusal(status.HTTP_404_NOT_FOUND, N_("no school {school!r}"), school=school)
    return [school]


def _audit(audit: AuditLog, reading: Reading, view: str, schools: list[str]) -> None:
    audit.record(
        reading.user,
        f"read_district_{view}",
        "district",
        reading.district,
        f"schools={','.join(schools)}",
    )


@router.get("/warning-levels", response_model=DistrictLevelsPublic)
def district_warning_levels(
    alerts: Alerts,
    audit: AuditDep,
    reading: Reader,
    school: SchoolFilter = None,
    day: date | None = None,
) -> DistrictLevelsPublic:
    schools = _schools(reading, school)
    minimum = reading.minimum
    cells = [
        school_cell(alerts.levels(s, alerts.today(s) if day is None else day), minimum)
        for s in schools
    ]
    level, counted = district_level(cells)
    _audit(audit, reading, "warning_levels", schools)
    return DistrictLevelsPublic(
        district=reading.district,
        min_cell=reading.minimum,
        note=reading.note,
        level=level.value,
        schools_by_level=counted,
        schools=[
            SchoolLevelPublic(
                **{**asdict(c), "level": c.level.value},
                owner=alerts.configs.warning_levels_for(c.school).owner,
            )
            for c in cells
        ],
    )


@router.get("/fitness", response_model=DistrictFitnessPublic)
def district_fitness(
    roster: RosterDep,
    results: FitnessDep,
    audit: AuditDep,
    reading: Reader,
    school: SchoolFilter = None,
) -> DistrictFitnessPublic:
    """Per school and grade, each student's latest result per item (all sessions)."""
    schools = _schools(reading, school)
    minimum = reading.minimum
    grades: list[GradePublic] = []
    classes = roster.classes()
    for s in schools:
        students = [
            student
            for c in classes
            if c["school"] == s
            for student in roster.students_of_class(str(c["id"]))
        ]
        rows = results.rows(student_ids=[st.id for st in students])
        summaries = summarize(results.standard, students, rows)
        grades.extend(
            GradePublic.model_validate(asdict(cell))
            for cell in grade_cells(results.standard, s, summaries, minimum)
        )
    _audit(audit, reading, "fitness", schools)
    return DistrictFitnessPublic(
        district=reading.district,
        min_cell=reading.minimum,
        note=reading.note,
        grades=grades,
    )


@router.get("/alerts/summary", response_model=DistrictAlertsPublic)
def district_alerts_summary(
    gateway: GatewayDep,
    audit: AuditDep,
    reading: Reader,
    school: SchoolFilter = None,
) -> DistrictAlertsPublic:
    """Alerts not yet resolved, counted by school, rule and severity."""
    schools = _schools(reading, school)
    minimum = reading.minimum
    counts = open_alert_counts(gateway.db, schools, minimum)
    _audit(audit, reading, "alerts", schools)
    return DistrictAlertsPublic(
        district=reading.district,
        min_cell=reading.minimum,
        note=reading.note,
        counts=[AlertCountPublic.model_validate(asdict(c)) for c in counts],
    )
