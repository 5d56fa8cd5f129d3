"""Roster (campus IT imports it) and lessons (PE teachers open them and hand out devices)."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from campusedge.contract import DeviceId
from drivers.subject_ids import as_sent
from gateway.api.access import (
    class_roster_access,
    in_schools,
    student_or_404,
    visible_classes,
)
from gateway.api.deps import (
    AnyStaff,
    AuditDep,
    CampusIT,
    FleetDep,
    MaybeAlerts,
    RosterDep,
    Teacher,
    UsersDep,
    check_school,
)
from gateway.api.refusals import Refusal
from gateway.auth import Role, Users
from gateway.fitness.standard import GRADES
from gateway.i18n import N_
from gateway.roster import (
    DeviceBusy,
    LessonKind,
    RosterConflict,
    RosterError,
    UnknownClass,
    decode_csv,
)

router = APIRouter(prefix="/api", tags=["roster"])


class ClassCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)
    school: str = Field(min_length=1)
    name: str = Field(min_length=1)
    grade: str = Field(description="1..12, univ_1_2 or univ_3_4 (as in fitness scoring)")
    pe_teacher_id: str | None = Field(default=None, description="a user with role pe_teacher")


class ClassUpdate(BaseModel):
    """Only the fields sent change; `"pe_teacher_id": null` removes the teacher."""

    model_config = ConfigDict(extra="forbid")
    school: str | None = Field(default=None, min_length=1)
    name: str | None = Field(default=None, min_length=1)
    grade: str | None = None
    pe_teacher_id: str | None = None


class ClassPublic(BaseModel):
    id: str
    school: str
    name: str
    grade: str
    pe_teacher_id: str | None
    students: int


class StudentPublic(BaseModel):
    """Name, sex and birth date only for health staff and the class's PE teacher."""

    id: str
    class_id: str
    name: str | None
    sex: str | None
    birth_date: date | None


class LessonCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    class_id: str
    kind: LessonKind = LessonKind.LESSON
    # Keys use the wire contract's device-id rule: a device that cannot publish under an id
    # could never be bound by it.
    assignments: dict[DeviceId, str] = Field(
        default_factory=dict, description="device id -> student id"
    )


class LessonPublic(BaseModel):
    id: str
    class_id: str
    teacher_id: str
    kind: LessonKind
    started_at: datetime
    ended_at: datetime | None
    assignments: dict[str, str]


def _check_class_fields(users: Users, grade: str | None, pe_teacher_id: str | None) -> None:
    if grade is not None and grade not in GRADES:
        raise Refusal(
            422,
            N_("grade: {grade!r} is not one of {grades}"),
            grade=grade,
            grades=", ".join(GRADES),
        )
    if pe_teacher_id is not None:
        teacher = users.get(pe_teacher_id)
        if teacher is None:
            raise Refusal(
                422,
                N_(
                    "pe_teacher_id: no user {user!r} (create them "
                    "with `campusedge gateway user add ID --role pe_teacher`)"
                ),
                user=pe_teacher_id,
            )
        if teacher.role is not Role.PE_TEACHER:
            raise Refusal(
                422,
                N_("pe_teacher_id: user {user!r} has role {role}, not pe_teacher"),
                user=pe_teacher_id,
                role=teacher.role.value,
            )


@router.post("/classes", status_code=201)
def add_class(
    body: ClassCreate, roster: RosterDep, users: UsersDep, user: CampusIT
) -> dict[str, str]:
    """Create a class in one of the user's schools; an existing id answers 409 (PATCH
    changes a class)."""
    check_school(user, body.school)
    _check_class_fields(users, body.grade, body.pe_teacher_id)
    try:
        roster.create_class(body.id, body.school, body.name, body.grade, body.pe_teacher_id)
    except RosterConflict as exc:
        raise Refusal.of(409, exc) from None
    return {"id": body.id}


@router.get("/classes", response_model=list[ClassPublic])
def list_classes(roster: RosterDep, user: AnyStaff) -> list[ClassPublic]:
    """A PE teacher's own classes; every class for health staff and campus IT."""
    return [ClassPublic.model_validate(c) for c in visible_classes(roster, user)]


@router.get("/classes/{class_id}/students", response_model=list[StudentPublic])
def class_students(
    class_id: str, roster: RosterDep, audit: AuditDep, user: AnyStaff
) -> list[StudentPublic]:
    """The class's students by id; names only where the role allows (see access.py)."""
    _, access = class_roster_access(roster, user, class_id)
    students = roster.students_of_class(class_id)
    if access.show_names:
        # Names and birth dates are personal data: one audit row per student shown, as for
        # the other reads of student data; an id-only list names nobody.
        audit.record_many(
            user, "read_class_roster", [("student", s.id, f"class={class_id}") for s in students]
        )
        return [
            StudentPublic(
                id=s.id, class_id=s.class_id, name=s.name, sex=s.sex, birth_date=s.birth_date
            )
            for s in students
        ]
    return [
        StudentPublic(id=s.id, class_id=s.class_id, name=None, sex=None, birth_date=None)
        for s in students
    ]


@router.patch("/classes/{class_id}")
def update_class(
    class_id: str, body: ClassUpdate, roster: RosterDep, users: UsersDep, user: CampusIT
) -> dict[str, str | None]:
    """Change the fields sent; the others keep their values. Only a class of the user's
    schools, and only into one of them."""
    if not in_schools(roster, user, class_id):
        raise Refusal(404, N_("no class {class_id!r}"), class_id=class_id)
    changes = body.model_dump(exclude_unset=True)
    check_school(user, changes.get("school"))
    for field in ("school", "name", "grade"):
        if field in changes and changes[field] is None:
            raise Refusal(422, N_("{field}: cannot be null"), field=field)
    _check_class_fields(users, changes.get("grade"), changes.get("pe_teacher_id"))
    try:
        return dict(roster.update_class(class_id, changes))
    except RosterError as exc:
        raise Refusal.of(404, exc) from None


@router.post("/roster/import")
def import_roster(
    roster: RosterDep, user: CampusIT, csv_bytes: bytes = Body(..., media_type="text/csv")
) -> dict[str, int | str]:
    """UTF-8 CSV, or GBK/GB18030 as Excel on Chinese Windows saves it; the reply names the
    encoding that was read so that a misread file shows."""
    # Bytes, not str: a body that is not UTF-8 must reach our decoder, not FastAPI's, whose
    # error report cannot encode the raw bytes either.
    try:
        text, encoding = decode_csv(csv_bytes)
        return {"imported": roster.import_csv(text, user.schools), "encoding": encoding}
    except RosterError as exc:
        raise Refusal.of(422, exc) from None


class CardEnrol(BaseModel):
    model_config = ConfigDict(extra="forbid")
    card_id: str = Field(
        min_length=1,
        max_length=64,
        description="a gate card (C-…), face template (F-…), screener id (S-…)",
    )


class StudentCards(BaseModel):
    student_id: str
    card_ids: list[str]


@router.get("/students/{student_id}/cards", response_model=StudentCards)
def student_cards(student_id: str, roster: RosterDep, user: CampusIT) -> StudentCards:
    """The ids enrolled for a student (pseudonymous: no name, no health data)."""
    student_or_404(roster, user, student_id)
    return StudentCards(student_id=student_id, card_ids=roster.cards_of(student_id))


@router.post("/students/{student_id}/cards", status_code=201, response_model=StudentCards)
def enrol_card(student_id: str, body: CardEnrol, roster: RosterDep, user: CampusIT) -> StudentCards:
    """Enrol one more id (a new card, a face template); an id held by another student moves."""
    student_or_404(roster, user, student_id)
    try:
        roster.enrol_card(student_id, body.card_id)
    except RosterError as exc:
        raise Refusal(422, N_("card_id: {problem}"), problem=exc) from None
    return StudentCards(student_id=student_id, card_ids=roster.cards_of(student_id))


@router.delete("/cards/{card_id}", status_code=204)
def withdraw_card(card_id: str, roster: RosterDep, user: CampusIT) -> None:
    """Forget an enrolled id (a lost card): a gate pass with it is then an unknown subject."""
    holder = roster.student_for_card(card_id) or roster.student_for_card(as_sent(card_id))
    student = roster.student(holder) if holder is not None else None
    # A card of another school's child is answered as an unknown card.
    if student is not None and not in_schools(roster, user, student.class_id):
        raise Refusal(404, N_("no enrolled card {card_id!r}"), card_id=card_id)
    if roster.withdraw_card(card_id) is None:
        raise Refusal(404, N_("no enrolled card {card_id!r}"), card_id=card_id)


@router.post("/lessons", status_code=201, response_model=LessonPublic)
def start_lesson(
    body: LessonCreate, roster: RosterDep, fleet: FleetDep, user: Teacher
) -> LessonPublic:
    cls = roster.class_of(body.class_id)
    # Another school's class is answered as an unknown one.
    if cls is None or cls["school"] not in user.schools:
        raise Refusal(
            404,
            N_(
                "class_id: unknown class {class_id!r} "
                "(campus IT creates classes with POST /api/classes)"
            ),
            class_id=body.class_id,
        )
    # One query for the class, not one per assignment (a lesson may hand out thousands).
    in_class = {student.id for student in roster.students_of_class(body.class_id)}
    for device_id, student_id in body.assignments.items():
        if student_id not in in_class:
            raise Refusal(
                422,
                N_("assignments.{device_id}: student {student_id!r} is not in class {class_id!r}"),
                device_id=device_id,
                student_id=student_id,
                class_id=body.class_id,
            )
    # A device enrolled for another school's boxes and not for this school's is that school's:
    # ingest admits it only there, so handed out here it would report nobody. Device ids are
    # per school, so the same id merely heard at another school says nothing; a device
    # enrolled nowhere (a new band scanned from its label; a deployment without strict
    # enrolment) is taken.
    schools = fleet.schools_enrolling(body.assignments)
    for device_id in body.assignments:
        if device_id in schools and cls["school"] not in schools[device_id]:
            raise Refusal(
                422,
                N_("assignments.{device_id}: {device_id!r} is a device of another school"),
                device_id=device_id,
            )
    try:
        lesson = roster.start_lesson(body.class_id, user.id, body.kind, body.assignments)
    except DeviceBusy as exc:
        raise Refusal.of(409, exc) from None
    except UnknownClass as exc:
        raise Refusal.of(404, exc) from None
    except RosterError as exc:
        raise Refusal.of(422, exc) from None
    return LessonPublic(**vars(lesson), assignments=body.assignments)


@router.post("/lessons/{lesson_id}/end", response_model=LessonPublic)
def end_lesson(
    lesson_id: str, roster: RosterDep, alerts: MaybeAlerts, user: Teacher
) -> LessonPublic:
    lesson = roster.lesson(lesson_id)
    cls = roster.class_of(lesson.class_id) if lesson is not None else None
    if lesson is None or cls is None or cls["school"] not in user.schools:
        raise Refusal(404, N_("no lesson {lesson_id!r}"), lesson_id=lesson_id)
    # The class's own PE teacher may end a lesson someone else opened on their class (a
    # substitute who left it running would otherwise hold its devices for good).
    if user.id not in (lesson.teacher_id, cls.get("pe_teacher_id")):
        raise Refusal(
            403, N_("only the teacher who opened a lesson or the class's PE teacher can end it")
        )
    roster.end_lesson(lesson_id, actor=user.id)
    if alerts is not None:
        # The engine follows the roster's lesson events; asked now, the lesson's signal-lost
        # alerts are resolved (in the teacher's name) before this answer, not at its next tick.
        alerts.follow_lessons()
    ended = roster.lesson(lesson_id)
    assert ended is not None
    return LessonPublic(**vars(ended), assignments=roster.assignments(lesson_id))
