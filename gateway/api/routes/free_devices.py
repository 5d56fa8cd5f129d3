"""Bands and ropes of a PE teacher's schools that no running lesson holds: theirs to hand out."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel

from campusedge.topics import DeviceKind
from gateway.api.deps import DevicesDep, RosterDep, Teacher, check_school

router = APIRouter(prefix="/api/free-devices", tags=["lessons"])

# What a pupil wears or holds in a lesson; gates, screeners and boxes are never handed out.
LESSON_KINDS = (DeviceKind.HR_BAND.value, DeviceKind.JUMP_ROPE.value)


class FreeDevice(BaseModel):
    device_id: str
    school: str
    kind: str
    state: str
    battery_pct: float | None
    last_seen: datetime | None


@router.get("", response_model=list[FreeDevice])
def free_devices(
    registry: DevicesDep, roster: RosterDep, user: Teacher, school: str | None = None
) -> list[FreeDevice]:
    """Bands and ropes heard in the teacher's schools (or `?school=`), minus those assigned in
    any running lesson: a lesson refuses a held device anyway, whichever school holds it."""
    check_school(user, school)
    held = {
        device_id
        for device_id, _school, _binding, lesson in roster.assignments_open_since(datetime.now(UTC))
        if lesson.ended_at is None
    }
    return [
        FreeDevice(
            device_id=d.device_id,
            school=d.school,
            kind=d.kind,
            state=d.state,
            battery_pct=d.battery_pct,
            last_seen=d.last_seen,
        )
        for d in registry.all(school)
        if d.school in user.schools and d.kind in LESSON_KINDS and d.device_id not in held
    ]
