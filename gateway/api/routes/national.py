"""The national upload file of a school or one class, as `campusedge fitness export-national`.

Two routes over one build (`gateway.fitness.national_export`): the workbook itself, whose
headers count what it holds (`X-Students-Written`, `X-Students-Left-Out`, `X-Problems`), and the
same problems as JSON for a page to show in a table. A header cannot carry hundreds of rows or
Chinese text, and a JSON body cannot be a download, so the page fetches the file and asks for
the problems only when the count says there are some. The request body is the school's
registry CSV (学号,学籍号,民族), which the roster does not hold; without it every student is
listed as missing a 学籍号, as with the command run without --registry.

Who may: as the fitness export of a class (`class_access`): health staff of the school, and a
class's PE teacher for that class; a whole school's file to health staff, and to a PE teacher
only when every class of the school is theirs (the file is never silently partial). Another
school, or a class of another school, is unknown (404). The file holds names, birth dates,
measurements and vision: every student in it is an audited read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from gateway.api.access import class_access
from gateway.api.deps import (
    AuditDep,
    FitnessDep,
    GatewayDep,
    LanguageDep,
    RosterDep,
    TeacherOrHealth,
    TranslatorDep,
)
from gateway.api.refusals import Refusal
from gateway.audit import AuditLog
from gateway.auth import Role, User
from gateway.fitness.national_export import Export, build, to_xlsx, with_registry_problems
from gateway.fitness.national_registry import (
    RegistryEntry,
    RegistryError,
    RegistryProblem,
    read_registry,
)
from gateway.fitness.national_template import Template
from gateway.fitness.results import FitnessResults
from gateway.fitness.values import Term
from gateway.i18n import N_, Translator
from gateway.roster import Roster

router = APIRouter(prefix="/api/fitness", tags=["national upload"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# How a problem of the uploaded registry file names it (the upload carries no file name).
REGISTRY_NAME = Term("registry file", "学籍文件")

SchoolQuery = Annotated[str, Query(min_length=1, max_length=64, description="the school id")]
YearQuery = Annotated[
    int,
    Query(ge=2000, le=2100, description="school year by its first calendar year: 2025 is 2025-26"),
]
ClassQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=64, description="one class of the school; none: the school"),
]


class NationalProblemPublic(BaseModel):
    """A student left out (or kept with a cell empty), or a note on the whole file."""

    row: int | None  # the sheet's row the student takes (the header is row 1)
    column: str | None  # the sheet's column letter
    header: str | None
    student_id: str | None
    class_name: str | None
    reason: str
    left_out: bool


class NationalCheckPublic(BaseModel):
    school: str
    year: int
    class_id: str | None
    written: int
    left_out: int
    problems: list[NationalProblemPublic]


def _scope(roster: Roster, user: User, school: str, class_id: str | None) -> None:
    """Refuses what the user may not export; another school's ids are answered as unknown."""
    if class_id is not None:
        cls, _ = class_access(roster, user, class_id)
        if cls["school"] != school:
            raise Refusal(404, N_("no class {class_id!r}"), class_id=class_id)
        return
    if school not in user.schools or not roster.has_school(school):
        raise Refusal(404, N_("no school {school!r}"), school=school)
    if user.role is Role.HEALTH_STAFF:
        return
    theirs = [c for c in roster.classes() if c["school"] == school]
    if not all(c["pe_teacher_id"] == user.id for c in theirs):
        raise Refusal(
            403,
            N_(
                "school {school!r} has classes you do not teach: download each of your "
                "classes' files, or ask health staff for the school's"
            ),
            school=school,
        )


@dataclass(frozen=True)
class NationalAsk:
    """What both routes build from: who asks, for which school (or class) and year, and the
    registry CSV of the request body."""

    template: Template
    roster: Roster
    results: FitnessResults
    user: User
    audit: AuditLog
    school: str
    year: int
    class_id: str | None
    registry_csv: bytes


async def _ask(
    request: Request,
    gateway: GatewayDep,
    roster: RosterDep,
    results: FitnessDep,
    audit: AuditDep,
    user: TeacherOrHealth,
    school: SchoolQuery,
    year: YearQuery,
    class_id: ClassQuery = None,
) -> NationalAsk:
    return NationalAsk(
        gateway.national_template,
        roster,
        results,
        user,
        audit,
        school,
        year,
        class_id,
        await request.body(),
    )


AskDep = Annotated[NationalAsk, Depends(_ask)]


def _build(
    ask: NationalAsk, action: Literal["export_fitness_national", "check_fitness_national"]
) -> Export:
    roster, school, class_id = ask.roster, ask.school, ask.class_id
    _scope(roster, ask.user, school, class_id)
    registry: dict[str, RegistryEntry] = {}
    registry_problems: list[RegistryProblem] = []
    if ask.registry_csv.strip():
        try:
            registry, registry_problems = read_registry(
                ask.registry_csv, ask.template.ethnicity_codes
            )
        except RegistryError as exc:
            raise Refusal(
                422, N_("the registry file cannot be read: {problem}"), problem=exc
            ) from None
    export = build(
        ask.results.db,
        roster,
        ask.results.standard,
        ask.template,
        school,
        ask.year,
        registry,
        class_id,
    )
    with_registry_problems(export, registry_problems, REGISTRY_NAME)
    # The file names everyone it holds; the problems the students they list (an id the
    # registry file gave that is none of the scope's students is nobody's read).
    classes = (
        [class_id]
        if class_id
        else [str(c["id"]) for c in roster.classes() if c["school"] == school]
    )
    students = {s.id for c in classes for s in roster.students_of_class(c)}
    if action == "check_fitness_national":
        students &= {p.student_id for p in export.problems if p.student_id}
    scope = f"school={school} year={ask.year}" + (f" class={class_id}" if class_id else "")
    ask.audit.record_many(
        ask.user, action, [("student_fitness", s, scope) for s in sorted(students)]
    )
    return export


def _counts(export: Export) -> dict[str, str]:
    return {
        "X-Students-Written": str(len(export.rows)),
        "X-Students-Left-Out": str(export.left_out),
        "X-Problems": str(len(export.problems)),
    }


@router.post(
    "/national",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "the upload workbook"}},
)
async def national_file(ask: AskDep, translator: TranslatorDep, language: LanguageDep) -> Response:
    """The national platform's upload workbook for the school (or its class) in school year
    *year*: the upload sheet and a sheet of the students left out. Body: the registry CSV
    (学号,学籍号,民族), or nothing."""
    export = await run_in_threadpool(_build, ask, "export_fitness_national")
    book = await run_in_threadpool(to_xlsx, export, ask.template, translator)
    stem = f"national-{ask.school}-{ask.year}" + (f"-{ask.class_id}" if ask.class_id else "")
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in stem)
    return Response(
        book,
        media_type=XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="{safe}.xlsx"',
            # Counted for the page: it asks for the problems only when there are some.
            "Content-Language": language.replace("_", "-"),
            "Vary": "Accept-Language",
            **_counts(export),
        },
    )


@router.post("/national/problems", response_model=NationalCheckPublic)
async def national_problems(ask: AskDep, translator: TranslatorDep) -> NationalCheckPublic:
    """What the same upload leaves out or leaves empty, and why, in the reader's language."""
    export = await run_in_threadpool(_build, ask, "check_fitness_national")
    return _public(export, ask.school, ask.year, ask.class_id, translator)


def _public(
    export: Export, school: str, year: int, class_id: str | None, translator: Translator
) -> NationalCheckPublic:
    return NationalCheckPublic(
        school=school,
        year=year,
        class_id=class_id,
        written=len(export.rows),
        left_out=export.left_out,
        problems=[
            NationalProblemPublic(
                row=p.row,
                column=p.column,
                header=p.header,
                student_id=p.student_id,
                class_name=p.class_name,
                reason=p.reason.words(translator),
                left_out=p.left_out,
            )
            for p in export.problems
        ],
    )
