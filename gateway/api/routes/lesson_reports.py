"""A PE lesson's heart-rate report: JSON, the class curve and zone shares as PNG, and a PDF.

Who may read it is who may read the lesson's heart-rate analytics (`gateway.api.access`): the
class's PE teacher and health staff with names, a substitute who opened the lesson with student
ids only; campus IT and auditors are refused, another school's lesson is unknown (404).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel

from gateway.api.access import lesson_access
from gateway.api.deps import (
    HeartRateReadsDep,
    HeartRateSettingsDep,
    LanguageDep,
    MaybeAlerts,
    RosterDep,
    StoreDep,
    TeacherOrHealth,
    TranslatorDep,
)
from gateway.api.routes.lessons import GroupAnalytics, Guidance
from gateway.lessons.heart_rate import ZONES
from gateway.lessons.readings import heart_rate_samples, lesson_students
from gateway.lessons.report import (
    MAX_SPAN,
    Labels,
    LessonReport,
    ReportError,
    StudentSamples,
    Target,
    lesson_report,
)
from gateway.roster import Lesson

router = APIRouter(prefix="/api/lessons", tags=["lesson reports"])

# _PLOTS_LATE: the drawing module is imported by the routes that draw, on first use:
# importing matplotlib takes about half a second, which every gateway start (and every CLI
# command that builds the app) would pay otherwise.


class MinutePublic(BaseModel):
    minute: int
    students: int
    mean_bpm: float | None
    p10_bpm: float | None
    p90_bpm: float | None


class StudentReportPublic(BaseModel):
    student_id: str
    name: str | None
    age: int
    hr_max_bpm: float
    threshold_bpm: float
    measured_s: float
    zone_s: dict[str, float]
    zone_pct: dict[str, float] | None
    density_pct: float | None
    density_ok: bool | None
    mean_bpm: float | None
    peak_bpm: float | None
    target_s: dict[Target, float]
    target: Target | None


class LessonReportPublic(BaseModel):
    lesson_id: str
    class_id: str
    since: datetime
    until: datetime
    main_since: datetime
    main_until: datetime
    moderate_pct: float
    max_gap_s: float
    zones_pct_hr_max: dict[str, float]
    # The curriculum's targets and the group's figures, as the heart-rate analytics give them.
    targets: Guidance
    group: GroupAnalytics
    stayed_below: list[str]
    stayed_above: list[str]
    curve: list[MinutePublic]
    students: list[StudentReportPublic]


# No report covers more (MAX_SPAN); a larger number of minutes would overflow the date
# arithmetic (a 500) rather than say what is wrong.
MAX_MINUTES = MAX_SPAN / timedelta(minutes=1)


@dataclass(frozen=True)
class ReportQuery:
    moderate_pct: float | None
    main_start_min: float | None
    main_end_min: float | None


def report_query(
    moderate_pct: Annotated[
        float | None, Query(gt=0, le=100, description="moderate threshold, % of HRmax")
    ] = None,
    main_start_min: Annotated[
        float | None,
        Query(ge=0, le=MAX_MINUTES, description="main part from, minutes after the start"),
    ] = None,
    main_end_min: Annotated[
        float | None,
        Query(gt=0, le=MAX_MINUTES, description="main part until, minutes after the start"),
    ] = None,
) -> ReportQuery:
    return ReportQuery(moderate_pct, main_start_min, main_end_min)


ReportQueryDep = Annotated[ReportQuery, Depends(report_query)]


@dataclass(frozen=True)
class Built:
    lesson: Lesson
    report: LessonReport
    labels: Labels
    names: dict[str, str | None]  # student id -> name where the reader may see it


def _r1(x: float | None) -> float | None:
    """One decimal for figures shown; the verdicts were taken on the exact ones."""
    return None if x is None else round(x, 1)


def _build(
    lesson_id: str,
    roster: RosterDep,
    store: StoreDep,
    settings: HeartRateSettingsDep,
    alerts: MaybeAlerts,
    user: TeacherOrHealth,
    reads: HeartRateReadsDep,
    query: ReportQueryDep,
) -> Built:
    lesson, access = lesson_access(roster, user, lesson_id)
    until = lesson.ended_at or datetime.now(UTC)
    day = lesson.started_at.date()
    students = lesson_students(roster, lesson)
    samples = [
        StudentSamples(
            student_id,
            student.age_on(day),
            heart_rate_samples(store, devices, lesson.started_at, until),
        )
        for student_id, (student, devices) in students.items()
    ]
    main: tuple[datetime, datetime] | None = None
    if query.main_start_min is not None or query.main_end_min is not None:
        start = lesson.started_at
        main = (
            start + timedelta(minutes=query.main_start_min or 0),
            until if query.main_end_min is None else start + timedelta(minutes=query.main_end_min),
        )
    try:
        report = lesson_report(
            samples,
            lesson.started_at,
            until,
            settings,
            main_part=main,
            moderate_pct=query.moderate_pct,
        )
    except ReportError as exc:
        raise HTTPException(422, str(exc)) from None
    names = {i: s.name if access.show_names else None for i, (s, _) in students.items()}
    cls = roster.class_of(lesson.class_id) or {}
    school = cls.get("school", "")
    # Times on the report are the school's, as its alert configuration sets them.
    zone = alerts.configs.for_school(school).zone if alerts is not None else UTC
    labels = Labels(
        title=f"{cls.get('name') or lesson.class_id} ({lesson.class_id})",
        students={i: name or i for i, name in names.items()},
        zone=zone,
    )
    reads.record(
        user,
        "read_lesson_report",
        lesson.id,
        [s.student_id for s in report.students if s.heart_rate.measured_s > 0],
    )
    return Built(lesson, report, labels, names)


BuiltDep = Annotated[Built, Depends(_build)]


def _spoken(language: str) -> dict[str, str]:
    # Chosen by Accept-Language: a cache must not give one reader's language to another.
    return {"Content-Language": language.replace("_", "-"), "Vary": "Accept-Language"}


def _filename(lesson_id: str, suffix: str) -> str:
    return "lesson-report-" + re.sub(r"[^A-Za-z0-9._-]", "_", lesson_id) + suffix


@router.get("/{lesson_id}/report", response_model=LessonReportPublic)
def lesson_report_json(built: BuiltDep) -> LessonReportPublic:
    r, lesson = built.report, built.lesson
    s = r.settings
    return LessonReportPublic(
        lesson_id=lesson.id,
        class_id=lesson.class_id,
        since=r.since,
        until=r.until,
        main_since=r.main_since,
        main_until=r.main_until,
        moderate_pct=r.moderate_pct,
        max_gap_s=s.max_gap_s,
        zones_pct_hr_max=dict(ZONES),
        targets=Guidance(
            group_density_min_pct=s.group_density_min_pct,
            individual_density_min_pct=s.individual_density_min_pct,
            mean_hr_bpm=(s.mean_hr_low_bpm, s.mean_hr_high_bpm),
        ),
        group=GroupAnalytics(
            students_measured=r.group.students_measured,
            density_pct=_r1(r.group.density_pct),
            density_ok=r.group.density_ok,
            mean_bpm=_r1(r.group.mean_bpm),
            mean_ok=r.group.mean_ok,
        ),
        stayed_below=r.stayed(Target.BELOW),
        stayed_above=r.stayed(Target.ABOVE),
        curve=[
            MinutePublic(
                minute=p.minute,
                students=p.students,
                mean_bpm=_r1(p.mean_bpm),
                p10_bpm=_r1(p.p10_bpm),
                p90_bpm=_r1(p.p90_bpm),
            )
            for p in r.curve
        ],
        students=[
            StudentReportPublic(
                student_id=sr.student_id,
                name=built.names.get(sr.student_id),
                age=sr.heart_rate.age,
                hr_max_bpm=sr.heart_rate.hr_max_bpm,
                threshold_bpm=sr.heart_rate.threshold_bpm,
                measured_s=round(sr.heart_rate.measured_s, 1),
                zone_s={z: round(v, 1) for z, v in sr.heart_rate.zone_s.items()},
                zone_pct=None
                if sr.zone_pct is None
                else {z: round(v, 1) for z, v in sr.zone_pct.items()},
                density_pct=_r1(sr.heart_rate.density_pct),
                density_ok=sr.density_ok,
                mean_bpm=_r1(sr.heart_rate.mean_bpm),
                peak_bpm=_r1(sr.heart_rate.peak_bpm),
                target_s={k: round(v, 1) for k, v in sr.target_s.items()},
                target=sr.target,
            )
            for sr in r.students
        ],
    )


@router.get("/{lesson_id}/report/curve.png", response_class=Response)
def lesson_report_curve(built: BuiltDep, t: TranslatorDep, language: LanguageDep) -> Response:
    from gateway.lessons.report_plots import curve_png  # see _PLOTS_LATE

    return Response(
        curve_png(built.report, t, built.labels), media_type="image/png", headers=_spoken(language)
    )


@router.get("/{lesson_id}/report/zones.png", response_class=Response)
def lesson_report_zones(built: BuiltDep, t: TranslatorDep, language: LanguageDep) -> Response:
    from gateway.lessons.report_plots import zones_png  # see _PLOTS_LATE

    return Response(
        zones_png(built.report, t, built.labels), media_type="image/png", headers=_spoken(language)
    )


@router.get("/{lesson_id}/report.pdf", response_class=Response)
def lesson_report_pdf(built: BuiltDep, t: TranslatorDep, language: LanguageDep) -> Response:
    from gateway.lessons.report_plots import report_pdf  # see _PLOTS_LATE

    name = _filename(built.lesson.id, ".pdf")
    return Response(
        report_pdf(built.report, t, built.labels),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"', **_spoken(language)},
    )
