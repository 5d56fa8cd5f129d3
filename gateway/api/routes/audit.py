"""The audit log read back: who read which student's health data, for the auditor role alone.

Every read of the log is itself an entry of the log (action `read_audit`, subject
`audit_log`, the filter as subject id, the count as detail).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel

from gateway.api.deps import AuditDep, Auditor
from gateway.api.refusals import Refusal
from gateway.audit import AuditFilter
from gateway.i18n import N_

router = APIRouter(prefix="/api/audit", tags=["audit"])


class AuditEntryPublic(BaseModel):
    id: int
    at: datetime
    user_id: str
    role: str
    action: str
    subject_type: str
    subject_id: str  # a student's pseudonymous id, never a name
    detail: str


class AuditPage(BaseModel):
    entries: list[AuditEntryPublic]
    # Pass as `before_id` for the next (older) page; null on the last page.
    next_before_id: int | None


@router.get("", response_model=AuditPage)
def read_audit(
    audit: AuditDep,
    user: Auditor,
    student: Annotated[str | None, Query(max_length=64, description="a student id")] = None,
    user_id: Annotated[str | None, Query(max_length=64, description="whose reads")] = None,
    since: Annotated[AwareDatetime | None, Query(description="from (inclusive)")] = None,
    until: Annotated[AwareDatetime | None, Query(description="to (exclusive)")] = None,
    before_id: Annotated[int | None, Query(ge=1, description="older than this entry")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    """Newest first, a page at a time; times with a UTC offset (ISO 8601)."""
    if since is not None and until is not None and until <= since:
        raise Refusal(422, N_("until must be after since"))
    where = AuditFilter(student_id=student, user_id=user_id, since=since, until=until)
    page, more = audit.read(user, where, before_id=before_id, limit=limit)
    return AuditPage(
        entries=[
            AuditEntryPublic(
                id=e.id,
                at=e.at,
                user_id=e.user_id,
                role=e.role,
                action=e.action,
                subject_type=e.subject_type,
                subject_id=e.subject_id,
                detail=e.detail,
            )
            for e in page
        ],
        next_before_id=page[-1].id if more and page else None,
    )
