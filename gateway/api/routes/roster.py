"""Roster (campus IT imports it) and lessons (PE teachers open them and hand out devices)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Body, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import CampusIT, GatewayDep, Teacher
from gateway.roster import LessonKind, RosterError

router = APIRouter(prefix="/api", tags=["roster"])


class ClassCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    school: str
    name: str
    grade: str
    pe_teacher_id: str | None = None


class LessonCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    class_id: str
    kind: LessonKind = LessonKind.LESSON
    assignments: dict[str, str] = Field(default_factory=dict,
                                        description="device id -> student id")


class LessonPublic(BaseModel):
    id: str
    class_id: str
    teacher_id: str
    kind: LessonKind
    started_at: datetime
    ended_at: datetime | None
    assignments: dict[str, str]


@router.post("/classes", status_code=201)
def add_class(body: ClassCreate, gateway: GatewayDep, user: CampusIT) -> dict[str, str]:
    gateway.roster.add_class(body.id, body.school, body.name, body.grade, body.pe_teacher_id)
    return {"id": body.id}


@router.post("/roster/import")
def import_roster(gateway: GatewayDep, user: CampusIT,
                  csv_text: str = Body(..., media_type="text/csv")) -> dict[str, int]:
    try:
        return {"imported": gateway.roster.import_csv(csv_text)}
    except RosterError as exc:
        raise HTTPException(422, str(exc)) from None


@router.post("/lessons", status_code=201, response_model=LessonPublic)
def start_lesson(body: LessonCreate, gateway: GatewayDep, user: Teacher) -> LessonPublic:
    roster = gateway.roster
    for device_id, student_id in body.assignments.items():
        student = roster.student(student_id)
        if student is None or student.class_id != body.class_id:
            raise HTTPException(422, f"assignments.{device_id}: student {student_id!r} is not "
                                f"in class {body.class_id!r}")
    try:
        lesson = roster.start_lesson(body.class_id, user.id, body.kind, body.assignments)
    except RosterError as exc:
        raise HTTPException(422, str(exc)) from None
    return LessonPublic(**vars(lesson), assignments=body.assignments)


@router.post("/lessons/{lesson_id}/end", response_model=LessonPublic)
def end_lesson(lesson_id: str, gateway: GatewayDep, user: Teacher) -> LessonPublic:
    lesson = gateway.roster.lesson(lesson_id)
    if lesson is None:
        raise HTTPException(404, f"no lesson {lesson_id!r}")
    if lesson.teacher_id != user.id:
        raise HTTPException(403, "only the teacher who opened a lesson can end it")
    gateway.roster.end_lesson(lesson_id)
    ended = gateway.roster.lesson(lesson_id)
    assert ended is not None
    return LessonPublic(**vars(ended), assignments=gateway.roster.assignments(lesson_id))
