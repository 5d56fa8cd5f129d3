"""Vision referrals: children a screening sent on to an optometrist, followed up by health staff.

Names are shown (health staff only) and every list is audited per student.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict

from gateway.api.alert_views import student_name
from gateway.api.deps import AuditDep, HealthStaff, ReferralsDep, RosterDep, check_school
from gateway.api.refusals import Refusal
from gateway.health.referrals import REFERRAL_STATES, Referral
from gateway.i18n import N_
from gateway.roster import Roster

router = APIRouter(prefix="/api/alerts", tags=["referrals"])


class ReferralPublic(BaseModel):
    id: int
    school: str
    student_id: str
    student_name: str | None
    class_id: str | None
    screened_at: datetime
    device_id: str
    findings: list[dict[str, Any]]
    worst_grade: str | None
    status: str


class ReferralUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["open", "parents_informed", "seen_by_optometrist", "closed"]


@router.get("/referrals", response_model=list[ReferralPublic])
def list_referrals(
    referrals: ReferralsDep,
    roster: RosterDep,
    audit: AuditDep,
    user: HealthStaff,
    school: str | None = None,
    status_: Annotated[str | None, Query(alias="status")] = None,
    class_id: str | None = None,
) -> list[ReferralPublic]:
    check_school(user, school)
    if class_id is not None:
        cls = roster.class_of(class_id)
        if cls is None or cls["school"] not in user.schools:
            # An unknown class is a typo to point out, not an empty list that looks like
            # "none"; another school's is answered the same way.
            raise Refusal(
                status.HTTP_404_NOT_FOUND, N_("class_id: no class {class_id!r}"), class_id=class_id
            )
    refs = referrals.find(school=school, status=status_, class_id=class_id, schools=user.schools)
    audit.record_many(
        user, "read_referral", [("student", r.student_id, f"vision referral {r.id}") for r in refs]
    )
    return [_referral(roster, r) for r in refs]


def _referral(roster: Roster, r: Referral) -> ReferralPublic:
    return ReferralPublic(
        id=r.id,
        school=r.school,
        student_id=r.student_id,
        student_name=student_name(roster, r.student_id),
        class_id=r.class_id,
        screened_at=r.screened_at,
        device_id=r.device_id,
        findings=r.findings,
        worst_grade=r.worst_grade,
        status=r.status,
    )


@router.post("/referrals/{referral_id}/status", status_code=204)
def update_referral(
    referral_id: int, body: ReferralUpdate, referrals: ReferralsDep, user: HealthStaff
) -> None:
    assert body.status in REFERRAL_STATES
    if not referrals.set_status(
        referral_id, body.status, user.id, datetime.now(UTC), schools=user.schools
    ):
        raise Refusal(404, N_("no referral {referral_id}"), referral_id=referral_id)
