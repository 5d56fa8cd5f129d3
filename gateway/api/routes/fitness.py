"""Fitness test results: staff entry, session results, class distribution, history, export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from gateway.api.access import (
    Access,
    class_access,
    lesson_access,
    listed,
    require_owner,
    student_or_404,
)
from gateway.api.deps import (
    AuditDep,
    FitnessDep,
    LanguageDep,
    RosterDep,
    Teacher,
    TeacherOrHealth,
    TranslatorDep,
)
from gateway.api.refusals import Refusal
from gateway.audit import AuditLog
from gateway.auth import User
from gateway.fitness.export import table, to_csv, to_xlsx
from gateway.fitness.results import (
    MEASURES,
    FitnessResults,
    NewResult,
    ResultError,
    TestResult,
    current,
)
from gateway.fitness.results_file import ResultsFileError, read_results_file
from gateway.fitness.summary import ItemResult, StudentSummary, class_items, distribution, summarize
from gateway.fitness.values import FieldError, check_unit
from gateway.i18n import N_, Translator
from gateway.roster import Lesson, LessonKind, Roster

router = APIRouter(prefix="/api/fitness", tags=["fitness"])


class ResultCreate(BaseModel):
    """A result typed in by staff: value as a number or text (runs may be "m:ss")."""

    model_config = ConfigDict(extra="forbid")
    student_id: str
    item: str = Field(description=f"one of {', '.join(MEASURES)}")
    value: float | int | str
    unit: str | None = Field(default=None, description="checked against the item's unit")
    measured_at: datetime | None = None

    @field_validator("measured_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("measured_at must carry a UTC offset (e.g. 2026-09-01T08:00:00Z)")
        return v


class ResultPublic(BaseModel):
    id: int
    lesson_id: str
    student_id: str
    item: str
    value: float
    unit: str
    score: int | None
    bonus: int | None
    source: str
    device_id: str | None
    seq: int | None
    entered_by: str | None
    measured_at: datetime
    current: bool


class ItemPublic(BaseModel):
    value: float
    unit: str
    score: int | None
    bonus: int | None
    level: str | None
    measured_at: datetime
    attempts: int
    derived: bool


class TotalPublic(BaseModel):
    standard_score: float
    bonus: int
    total: float
    level: str


class StudentResults(BaseModel):
    student_id: str
    name: str | None
    sex: str
    grade: str
    items: dict[str, ItemPublic]
    missing: list[str]
    total: TotalPublic | None


class SessionResults(BaseModel):
    lesson_id: str
    class_id: str
    students: list[StudentResults]


class Distribution(BaseModel):
    class_id: str
    lesson_ids: list[str]
    students: int
    items: dict[str, dict[str, int]]


class StudentHistory(BaseModel):
    student_id: str
    name: str | None
    attempts: list[ResultPublic]


def _num(value: Decimal) -> float:
    return float(value)


def _public(row: TestResult, is_current: bool) -> ResultPublic:
    return ResultPublic(
        id=row.id,
        lesson_id=row.lesson_id,
        student_id=row.student_id,
        item=row.item,
        value=_num(row.value),
        unit=row.unit,
        score=row.score,
        bonus=row.bonus,
        source=row.source,
        device_id=row.device_id,
        seq=row.seq,
        entered_by=row.entered_by,
        measured_at=row.measured_at,
        current=is_current,
    )


def _item(result: ItemResult) -> ItemPublic:
    return ItemPublic(
        value=_num(result.value),
        unit=result.unit,
        score=result.score,
        bonus=result.bonus,
        level=result.level,
        measured_at=result.measured_at,
        attempts=result.attempts,
        derived=result.derived,
    )


def _student(summary: StudentSummary, access: Access) -> StudentResults:
    s, total = summary.student, summary.total
    return StudentResults(
        student_id=s.id,
        name=s.name if access.show_names else None,
        sex=s.sex,
        grade=s.grade,
        items={k: _item(v) for k, v in summary.items.items()},
        missing=list(summary.missing),
        total=TotalPublic(
            standard_score=_num(total.standard_score),
            bonus=total.bonus,
            total=_num(total.total),
            level=total.level,
        )
        if total
        else None,
    )


def _audit_reads(
    audit: AuditLog, user: User, action: str, student_ids: list[str], detail: str
) -> None:
    """Height, weight, BMI and vital capacity are health data: one audit row per student whose
    results this person was shown (aggregates such as the distribution name nobody)."""
    audit.record_many(
        user, action, [("student_fitness", student_id, detail) for student_id in student_ids]
    )


def _sessions(roster: Roster, class_id: str, lesson_id: str | None) -> list[str]:
    """The class's fitness_test sessions, or the one asked for (which must be one of them)."""
    sessions = [
        lesson.id
        for lesson in roster.lessons(class_id=class_id)
        if lesson.kind is LessonKind.FITNESS_TEST
    ]
    if lesson_id is None:
        return sessions
    if lesson_id not in sessions:
        raise Refusal(
            404,
            N_("no fitness_test session {lesson_id!r} in class {class_id!r}"),
            lesson_id=lesson_id,
            class_id=class_id,
        )
    return [lesson_id]


def _class_summaries(
    roster: Roster, results: FitnessResults, class_id: str, lesson_id: str | None
) -> tuple[list[str], list[StudentSummary]]:
    sessions = _sessions(roster, class_id, lesson_id)
    students = roster.students_of_class(class_id)
    rows = results.rows(lesson_ids=sessions)
    return sessions, summarize(results.standard, students, rows)


@router.post("/sessions/{lesson_id}/results", status_code=201, response_model=ResultPublic)
def enter_result(
    lesson_id: str, body: ResultCreate, roster: RosterDep, results: FitnessDep, user: Teacher
) -> ResultPublic:
    lesson, _ = lesson_access(roster, user, lesson_id)
    require_owner(roster, user, lesson)
    if body.unit is not None and body.item in MEASURES:
        try:
            check_unit(body.item, body.unit)
        except FieldError as exc:
            raise Refusal(
                422, N_("{field}: {problem}"), field=exc.field, problem=exc.worded()
            ) from None
    received = datetime.now(UTC)
    if body.measured_at is not None:
        _check_measured_at(body.measured_at, lesson, received)
    [outcome] = results.record(
        [
            NewResult(
                lesson_id=lesson.id,
                student_id=body.student_id,
                item=body.item,
                raw_value=body.value,
                measured_at=body.measured_at or received,
                source="staff",
                entered_by=user.id,
            )
        ]
    )
    if isinstance(outcome, ResultError):
        raise Refusal(422, N_("{field}: {problem}"), field=outcome.field, problem=outcome.worded())
    # An attempt entered late with an earlier measured_at does not displace a newer one, so
    # the reply says which one is current rather than assuming the new row is.
    held = current(results.rows(lesson_ids=[lesson.id], student_id=outcome.student_id))
    latest = held.get((outcome.student_id, outcome.item))
    return _public(outcome, latest is not None and latest[0].id == outcome.id)


class FileProblem(BaseModel):
    row: int = Field(description="as the spreadsheet numbers it (the header is row 1)")
    column: str = Field(description="the column id (an item, or id)")
    student_id: str | None
    error: str


class FileOutcome(BaseModel):
    """All or nothing: `saved` results, or none and every problem found."""

    saved: int
    errors: list[FileProblem]


@router.post("/sessions/{lesson_id}/results/file", response_model=FileOutcome)
async def upload_results(
    lesson_id: str,
    request: Request,
    roster: RosterDep,
    results: FitnessDep,
    user: Teacher,
    translator: TranslatorDep,
) -> FileOutcome:
    """A class's results file as the request body (CSV in UTF-8 or GBK, or XLSX): one row a
    student, one column an item. Every cell is checked as a result typed in is, and nothing
    is saved unless all are good, so the file can be fixed and sent again as a whole."""
    data = await request.body()
    # The checks and the write are blocking database work: off the event loop.
    return await run_in_threadpool(_take_file, lesson_id, data, roster, results, user, translator)


def _take_file(
    lesson_id: str,
    data: bytes,
    roster: Roster,
    results: FitnessResults,
    user: User,
    translator: Translator,
) -> FileOutcome:
    lesson, _ = lesson_access(roster, user, lesson_id)
    require_owner(roster, user, lesson)
    try:
        _header, rows = read_results_file(data)
    except ResultsFileError as exc:
        raise Refusal(422, N_("the results file cannot be read: {problem}"), problem=exc) from None
    received = datetime.now(UTC)
    new: list[NewResult] = []
    errors: list[FileProblem] = []
    first_row: dict[str, int] = {}
    for row in rows:
        student = str(row.cells.get("id") or "").strip()
        if student and student in first_row:
            # Two rows of one student: which is meant cannot be told, so neither is taken.
            errors.append(
                FileProblem(
                    row=row.number,
                    column="id",
                    student_id=student,
                    error=translator.gettext(N_("the same student as row {row}")).format(
                        row=first_row[student]
                    ),
                )
            )
            continue
        first_row.setdefault(student, row.number)
        if not student:
            errors.append(
                FileProblem(
                    row=row.number,
                    column="id",
                    student_id=None,
                    error=translator.gettext(N_("no student id in this row")),
                )
            )
            continue
        for column, value in row.cells.items():
            if column not in MEASURES or value in ("", None):
                continue  # 姓名, 性别, 班级 ... are the roster's; a blank cell is not tested yet
            result = NewResult(
                lesson_id=lesson.id,
                student_id=student,
                item=column,
                raw_value=value,
                measured_at=received,
                source="staff",
                entered_by=user.id,
            )
            try:
                results.check(result)
            except ResultError as exc:
                errors.append(
                    FileProblem(
                        row=row.number,
                        column=column,
                        student_id=student,
                        error=exc.words(translator),
                    )
                )
                continue
            new.append(result)
    if errors or not new:
        return FileOutcome(saved=0, errors=errors)
    outcomes = results.record(new)
    return FileOutcome(saved=sum(isinstance(o, TestResult) for o in outcomes), errors=[])


# Allows for a teacher's watch or tablet being a little off the gateway's clock.
MEASURED_AT_TOLERANCE = timedelta(minutes=5)


def _check_measured_at(measured_at: datetime, lesson: Lesson, now: datetime) -> None:
    """A typed-in measurement time must fall within its session and not in the future: the
    latest measurement is the current result, so a mistyped year would stay current for good."""
    slack = MEASURED_AT_TOLERANCE
    if measured_at > now + slack:
        raise Refusal(
            422,
            N_("measured_at: {measured_at} is in the future (the gateway's clock says {now})"),
            measured_at=measured_at.isoformat(),
            now=now.isoformat(timespec="seconds"),
        )
    end = lesson.ended_at or now
    if not lesson.started_at - slack <= measured_at <= end + slack:
        raise Refusal(
            422,
            N_("measured_at: {measured_at} is outside session {lesson_id!r} ({start} to {end})")
            if lesson.ended_at
            else N_("measured_at: {measured_at} is outside session {lesson_id!r} ({start} to now)"),
            measured_at=measured_at.isoformat(),
            lesson_id=lesson.id,
            start=lesson.started_at.isoformat(timespec="seconds"),
            end=end.isoformat(timespec="seconds"),
        )


@router.get("/sessions/{lesson_id}/results", response_model=SessionResults)
def session_results(
    lesson_id: str, roster: RosterDep, results: FitnessDep, audit: AuditDep, user: TeacherOrHealth
) -> SessionResults:
    lesson, access = lesson_access(roster, user, lesson_id)
    if lesson.kind is not LessonKind.FITNESS_TEST:
        raise Refusal(
            404, N_("lesson {lesson_id!r} is not a fitness_test session"), lesson_id=lesson_id
        )
    students = roster.students_of_class(lesson.class_id)
    rows = results.rows(lesson_ids=[lesson.id])
    summaries = summarize(results.standard, students, rows)
    _audit_reads(
        audit,
        user,
        "read_fitness_results",
        [s.student.id for s in summaries if s.items],
        f"lesson={lesson.id}",
    )
    return SessionResults(
        lesson_id=lesson.id,
        class_id=lesson.class_id,
        students=listed([_student(s, access) for s in summaries], access),
    )


@router.get("/classes/{class_id}/distribution", response_model=Distribution)
def class_distribution(
    class_id: str,
    roster: RosterDep,
    results: FitnessDep,
    user: TeacherOrHealth,
    lesson_id: str | None = None,
) -> Distribution:
    class_access(roster, user, class_id)
    sessions, summaries = _class_summaries(roster, results, class_id, lesson_id)
    return Distribution(
        class_id=class_id,
        lesson_ids=sessions,
        students=len(summaries),
        items=distribution(results.standard, summaries),
    )


@router.get("/classes/{class_id}/export")
def class_export(
    class_id: str,
    roster: RosterDep,
    results: FitnessDep,
    audit: AuditDep,
    user: TeacherOrHealth,
    language: LanguageDep,
    format: Literal["csv", "xlsx"] = "csv",
    lesson_id: str | None = None,
) -> Response:
    cls, access = class_access(roster, user, class_id)
    _, summaries = _class_summaries(roster, results, class_id, lesson_id)
    items = class_items(results.standard, [s.student for s in summaries])
    header, rows = table(summaries, items, access.show_names, language)
    _audit_reads(
        audit,
        user,
        "export_fitness_results",
        [s.student.id for s in summaries if s.items],
        f"class={class_id}",
    )
    stem = f"fitness-{class_id}"
    # Chosen by Accept-Language: a cache must not give one reader's language to another.
    spoken = {"Content-Language": language.replace("_", "-"), "Vary": "Accept-Language"}
    if format == "csv":
        return Response(
            to_csv(header, rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{stem}.csv"', **spoken},
        )
    return Response(
        to_xlsx(header, rows, cls.get("name") or class_id),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"', **spoken},
    )


@router.get("/students/{student_id}/results", response_model=StudentHistory)
def student_history(
    student_id: str, roster: RosterDep, results: FitnessDep, audit: AuditDep, user: TeacherOrHealth
) -> StudentHistory:
    student = student_or_404(roster, user, student_id)
    _, access = class_access(roster, user, student.class_id)
    rows = results.rows(student_id=student_id)
    latest = {row.id for (_, _), (row, _) in _current_by_session(rows).items()}
    _audit_reads(
        audit,
        user,
        "read_fitness_history",
        [student_id] if rows else [],
        f"class={student.class_id}",
    )
    return StudentHistory(
        student_id=student_id,
        name=student.name if access.show_names else None,
        attempts=[_public(r, r.id in latest) for r in reversed(rows)],
    )


def _current_by_session(rows: list[TestResult]) -> dict[tuple[str, str], tuple[TestResult, int]]:
    """Current attempt per (session, item): `current` is per session, as re-tests are."""
    out: dict[tuple[str, str], tuple[TestResult, int]] = {}
    for lesson_id in {r.lesson_id for r in rows}:
        for (_, item), held in current(r for r in rows if r.lesson_id == lesson_id).items():
            out[(lesson_id, item)] = held
    return out
