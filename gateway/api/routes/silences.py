"""Silences: times when device alerts of a school, a rule or a device are not sent.

Health alerts are never silenced. Set by campus IT or health staff.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from gateway.alerts.lifecycle import LifecycleError
from gateway.alerts.model import Rule
from gateway.api.deps import Alerts, AnyStaff, check_school
from gateway.api.refusals import Refusal
from gateway.auth import Role
from gateway.i18n import N_

router = APIRouter(prefix="/api/alerts", tags=["silences"])


class SilenceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    school: str
    # With a UTC offset ("2026-09-01T13:00:00+08:00"): a bare local time is ambiguous.
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: str = Field(min_length=1, max_length=200)
    rule: Rule | None = None
    device_id: str | None = None
    class_id: str | None = Field(
        default=None,
        description="not accepted: device alerts "
        "have no class, and health alerts are never silenced",
    )

    @field_validator("class_id")
    @classmethod
    def _no_class(cls, v: str | None) -> None:
        if v is not None:
            raise ValueError(
                "a silence cannot name a class: it covers device alerts, which "
                "have no class (name a device_id or a rule instead)"
            )
        return None


class SilencePublic(BaseModel):
    school: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    rule: Rule | None = None
    device_id: str | None = None
    class_id: str | None = None
    id: int
    created_by: str


@router.get("/silences", response_model=list[SilencePublic])
def list_silences(alerts: Alerts, user: AnyStaff, school: str | None = None) -> list[SilencePublic]:
    """The silences of the user's schools (of *school*, one of them)."""
    check_school(user, school)
    return [
        SilencePublic(
            id=s.id,
            school=s.school,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            reason=s.reason,
            rule=s.rule,
            device_id=s.device_id,
            class_id=s.class_id,
            created_by=s.created_by,
        )
        for s in alerts.silences(school)
        if s.school in user.schools
    ]


@router.post("/silences", status_code=201, response_model=SilencePublic)
def add_silence(body: SilenceCreate, alerts: Alerts, user: AnyStaff) -> SilencePublic:
    if user.role is Role.PE_TEACHER:
        raise Refusal(403, N_("silences are set by campus IT or health staff"))
    check_school(user, body.school)
    try:
        s = alerts.add_silence(
            body.school,
            body.starts_at,
            body.ends_at,
            user.id,
            body.reason,
            body.rule,
            body.device_id,
        )
    except LifecycleError as exc:
        raise Refusal.of(422, exc) from None
    return SilencePublic(id=s.id, created_by=s.created_by, **body.model_dump())


@router.delete("/silences/{silence_id}", status_code=204)
def delete_silence(silence_id: int, alerts: Alerts, user: AnyStaff) -> None:
    if user.role is Role.PE_TEACHER:
        raise Refusal(403, N_("silences are set by campus IT or health staff"))
    if not alerts.delete_silence(silence_id, schools=user.schools):
        raise Refusal(404, N_("no silence {silence_id}"), silence_id=silence_id)
