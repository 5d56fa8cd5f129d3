"""Who is signed in, and the lessons they may open: what the dashboard asks first."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel

from gateway.api.deps import CurrentUser, RosterDep
from gateway.auth import Role

router = APIRouter(prefix="/api/me", tags=["me"])


class MePublic(BaseModel):
    id: str
    display_name: str
    role: str
    # The schools whose data the user sees: the pages ask for a school's levels by it.
    schools: list[str]
    # A district user's district and its schools (the district pages ask by them); else null.
    district: str | None = None
    district_schools: list[str] = []


class MyLesson(BaseModel):
    id: str
    class_id: str
    class_name: str | None
    kind: str
    started_at: datetime
    ended_at: datetime | None
    class_teacher: bool  # the class's own PE teacher: names shown, results exportable


@router.get("", response_model=MePublic)
def me(user: CurrentUser) -> MePublic:
    """Any signed-in user, whatever the role: the dashboard asks this first."""
    return MePublic(
        id=user.id,
        display_name=user.display_name,
        role=user.role.value,
        schools=sorted(user.schools),
        district=user.district,
        district_schools=sorted(user.district_schools),
    )


@router.get("/lessons", response_model=list[MyLesson])
def my_lessons(
    roster: RosterDep, user: CurrentUser, limit: int = Query(default=50, ge=1, le=1000)
) -> list[MyLesson]:
    """Newest first: lessons a PE teacher opened or whose class they teach; all for health
    staff; none for campus IT, auditors and district users, who read no student data."""
    if user.role in (Role.CAMPUS_IT, Role.AUDITOR, Role.DISTRICT):
        return []
    classes: dict[str, dict[str, str]] = {}
    out: list[MyLesson] = []
    for lesson in reversed(roster.lessons()):
        if lesson.class_id not in classes:
            classes[lesson.class_id] = roster.class_of(lesson.class_id) or {}
        cls = classes[lesson.class_id]
        if cls.get("school") not in user.schools:
            continue
        class_teacher = cls.get("pe_teacher_id") == user.id
        if user.role is Role.PE_TEACHER and not (class_teacher or lesson.teacher_id == user.id):
            continue
        out.append(
            MyLesson(
                id=lesson.id,
                class_id=lesson.class_id,
                class_name=cls.get("name"),
                kind=lesson.kind.value,
                started_at=lesson.started_at,
                ended_at=lesson.ended_at,
                class_teacher=class_teacher or user.role is Role.HEALTH_STAFF,
            )
        )
        if len(out) == limit:
            break
    return out
