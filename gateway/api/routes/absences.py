"""Absences entered by health staff: an illness absence counts towards the warning levels."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import AbsencesDep, Alerts, HealthStaff, RosterDep
from gateway.api.refusals import Refusal
from gateway.api.routes.warning_levels import WarningLevelsPublic, levels_public
from gateway.i18n import N_

router = APIRouter(prefix="/api/alerts", tags=["absences"])


class AbsenceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    student_id: str
    day: date
    reason: Literal["illness", "other"]
    symptoms: str = Field(default="", max_length=200)


@router.post("/absences", status_code=201, response_model=WarningLevelsPublic)
def record_absence(
    body: AbsenceCreate,
    absences: AbsencesDep,
    alerts: Alerts,
    roster: RosterDep,
    user: HealthStaff,
) -> WarningLevelsPublic:
    student = roster.student(body.student_id)
    klass = roster.class_of(student.class_id) if student else None
    # A student of another school is answered like one not on the roster.
    if student is None or klass is None or klass["school"] not in user.schools:
        raise Refusal(
            422, N_("student_id: {student_id!r} is not on the roster"), student_id=body.student_id
        )
    school = klass["school"]
    absences.record(
        school,
        body.day,
        student.id,
        student.class_id,
        body.reason,
        body.symptoms,
        user.id,
        alerts.now(),
    )
    # The new count may raise the day's level: its alert is raised now, not at the next fever.
    alerts.levels_changed(school, body.day)
    return levels_public(alerts, school, body.day)
