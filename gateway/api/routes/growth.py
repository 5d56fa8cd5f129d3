"""Growth records (一生一档): a student's years as JSON and as a one-page report, a class's totals.

Who may read them is who may read the student's fitness results (`gateway.api.access`): health
staff of the student's school, and the PE teacher of the student's class; another school's
student or class is unknown (404). Height, weight, BMI and vision are health staff's alone: a
PE teacher's record leaves them out. Every read names its students in the audit log.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel

from gateway.api.access import class_access, student_or_404
from gateway.api.deps import (
    AuditDep,
    FitnessDep,
    LanguageDep,
    RosterDep,
    TeacherOrHealth,
    TranslatorDep,
)
from gateway.audit import AuditLog
from gateway.auth import Role, User
from gateway.fitness.export import to_csv, to_xlsx
from gateway.fitness.growth import GrowthRecord, YearItem, graduation, without_health
from gateway.fitness.growth_export import growth_table
from gateway.fitness.growth_read import read_growth
from gateway.fitness.norms import Boundary, Norm, NormLevel
from gateway.fitness.results import FitnessResults
from gateway.fitness.year_grade import GradeSource
from gateway.roster import Roster, Student

router = APIRouter(prefix="/api/fitness", tags=["growth records"])

# _PLOTS_LATE: matplotlib is imported by the report route on first use, as the lesson
# report's routes do, so that a gateway start does not pay for it.


class BoundaryPublic(BaseModel):
    level: NormLevel
    score: int
    threshold: float


class NormPublic(BaseModel):
    """The result against its grade's 及格/良好/优秀/满分 boundaries (docs/fitness.md)."""

    grade: str
    sex: str
    direction: str
    boundaries: list[BoundaryPublic]
    reached: NormLevel | None
    next: BoundaryPublic | None
    gap: float | None


class YearItemPublic(BaseModel):
    value: float
    unit: str
    score: int | None
    bonus: int | None
    level: str | None
    measured_at: datetime
    lesson_id: str | None
    sessions: int
    attempts: int
    derived: bool
    change_value: float | None
    change_score: int | None
    norm: NormPublic | None


class TotalPublic(BaseModel):
    standard_score: float
    bonus: int
    total: float
    level: str


class VisionPublic(BaseModel):
    at: datetime
    acuity_left: float | None
    acuity_right: float | None
    se_left: float | None
    se_right: float | None


class GrowthYearPublic(BaseModel):
    year: int
    school_year: str
    grade: str | None
    grade_source: GradeSource
    classes: list[str]
    recorded: bool
    items: dict[str, YearItemPublic]
    missing: list[str]
    total: TotalPublic | None
    change_total: float | None
    vision: VisionPublic | None
    notes: list[str]


class GraduationPublic(BaseModel):
    year: int
    score: float
    level: str
    final_total: float
    others_mean: float
    years: list[int]
    without_total: list[int]


class GrowthPublic(BaseModel):
    student_id: str
    name: str | None
    sex: str
    grade: str
    class_id: str
    health_data: bool
    years: list[GrowthYearPublic]
    graduation: GraduationPublic | None


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _item(i: YearItem) -> YearItemPublic:
    return YearItemPublic(
        value=float(i.value),
        unit=i.unit,
        score=i.score,
        bonus=i.bonus,
        level=i.level,
        measured_at=i.measured_at,
        lesson_id=i.lesson_id,
        sessions=i.sessions,
        attempts=i.attempts,
        derived=i.derived,
        change_value=_num(i.change_value),
        change_score=i.change_score,
        norm=_norm(i.norm) if i.norm else None,
    )


def _boundary(b: Boundary) -> BoundaryPublic:
    return BoundaryPublic(level=b.level, score=b.score, threshold=float(b.threshold))


def _norm(n: Norm) -> NormPublic:
    return NormPublic(
        grade=n.grade,
        sex=n.sex,
        direction=n.direction,
        boundaries=[_boundary(b) for b in n.boundaries],
        reached=n.reached,
        next=_boundary(n.next) if n.next else None,
        gap=_num(n.gap),
    )


def _as_read(results: FitnessResults, student: Student, user: User) -> GrowthRecord:
    """The record as this reader may see it (health data for health staff only)."""
    record = read_growth(results, student, datetime.now(UTC))
    return record if user.role is Role.HEALTH_STAFF else without_health(record)


def _audit(
    audit: AuditLog, user: User, action: str, records: list[GrowthRecord], detail: str
) -> None:
    audit.record_many(
        user,
        action,
        [("student_fitness", r.student.id, detail) for r in records if r.years],
    )


@router.get("/students/{student_id}/growth", response_model=GrowthPublic)
def student_growth(
    student_id: str, roster: RosterDep, results: FitnessDep, audit: AuditDep, user: TeacherOrHealth
) -> GrowthPublic:
    student = student_or_404(roster, user, student_id)
    _, access = class_access(roster, user, student.class_id)
    record = _as_read(results, student, user)
    _audit(audit, user, "read_fitness_growth", [record], f"class={student.class_id}")
    return GrowthPublic(
        student_id=student.id,
        name=student.name if access.show_names else None,
        sex=student.sex,
        grade=student.grade,
        class_id=student.class_id,
        health_data=user.role is Role.HEALTH_STAFF,
        years=[
            GrowthYearPublic(
                year=y.year,
                school_year=f"{y.year}-{y.year + 1}",
                grade=y.grade,
                grade_source=y.grade_source,
                classes=list(y.classes),
                recorded=y.recorded,
                items={k: _item(v) for k, v in y.items.items()},
                missing=list(y.missing),
                total=TotalPublic(
                    standard_score=float(y.total.standard_score),
                    bonus=y.total.bonus,
                    total=float(y.total.total),
                    level=y.total.level,
                )
                if y.total
                else None,
                change_total=_num(y.change_total),
                vision=VisionPublic(**y.vision.__dict__) if y.vision else None,
                notes=list(y.notes),
            )
            for y in record.years
        ],
        graduation=_graduation(record),
    )


def _graduation(record: GrowthRecord) -> GraduationPublic | None:
    g = graduation(record)
    if g is None:
        return None
    return GraduationPublic(
        year=g.year,
        score=float(g.score),
        level=g.level,
        final_total=float(g.final_total),
        others_mean=float(g.others_mean),
        years=list(g.years),
        without_total=list(g.without_total),
    )


def _spoken(language: str) -> dict[str, str]:
    # Chosen by Accept-Language: a cache must not give one reader's language to another.
    return {"Content-Language": language.replace("_", "-"), "Vary": "Accept-Language"}


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


@router.get("/students/{student_id}/growth/report", response_class=Response)
def student_growth_report(
    student_id: str,
    roster: RosterDep,
    results: FitnessDep,
    audit: AuditDep,
    user: TeacherOrHealth,
    t: TranslatorDep,
    language: LanguageDep,
    format: Literal["pdf", "png"] = "pdf",
) -> Response:
    """One A4 page for parents: the years' totals and levels and each item's trend."""
    from gateway.fitness.growth_plots import growth_pdf, growth_png  # see _PLOTS_LATE

    student = student_or_404(roster, user, student_id)
    cls, access = class_access(roster, user, student.class_id)
    record = _as_read(results, student, user)
    _audit(audit, user, "read_fitness_growth", [record], f"class={student.class_id} report")
    title = f"{student.name} ({student.id})" if access.show_names else student.id
    title += f"  {cls.get('name') or student.class_id}"
    name = f"growth-{_safe(student.id)}.{format}"
    if format == "png":
        return Response(
            growth_png(record, title, t), media_type="image/png", headers=_spoken(language)
        )
    return Response(
        growth_pdf(record, title, t),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"', **_spoken(language)},
    )


@router.get("/classes/{class_id}/growth/export")
def class_growth_export(
    class_id: str,
    roster: RosterDep,
    results: FitnessDep,
    audit: AuditDep,
    user: TeacherOrHealth,
    language: LanguageDep,
    format: Literal["csv", "xlsx"] = "csv",
) -> Response:
    """Each student of the class a row, each school year its grade, total, level and change."""
    cls, access = class_access(roster, user, class_id)
    records = _class_records(roster, results, class_id, user)
    header, rows = growth_table(records, access.show_names, language)
    _audit(audit, user, "export_fitness_growth", records, f"class={class_id}")
    stem = f"growth-{_safe(class_id)}"
    if format == "csv":
        return Response(
            to_csv(header, rows),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{stem}.csv"',
                **_spoken(language),
            },
        )
    return Response(
        to_xlsx(header, rows, cls.get("name") or class_id),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"', **_spoken(language)},
    )


def _class_records(
    roster: Roster, results: FitnessResults, class_id: str, user: User
) -> list[GrowthRecord]:
    return [_as_read(results, s, user) for s in roster.students_of_class(class_id)]
