"""How an alert is shown to one person (names only where allowed) and the audit of that read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from gateway.alerts.model import Alert, AlertState, Rule
from gateway.alerts.visibility import may_see_name
from gateway.alerts.wording import measured
from gateway.audit import AuditLog
from gateway.auth import User
from gateway.i18n import Translator
from gateway.roster import Roster


class AlertPublic(BaseModel):
    id: int
    rule: Rule
    severity: str
    state: AlertState
    summary: str
    description: str | None = Field(
        default=None,
        description="what the rule saw, in the reader's language (Accept-Language); null "
        "where the alert's detail does not say",
    )
    school: str
    student_id: str | None
    student_name: str | None = Field(
        description="only for health staff and the PE teacher of the lesson; null for everyone else"
    )
    class_id: str | None
    lesson_id: str | None
    device_id: str | None
    detail: dict[str, Any]
    count: int
    opened_at: datetime
    last_seen_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    outcome: str | None
    escalation_level: int
    silenced: bool


def student_name(roster: Roster, student_id: str | None) -> str | None:
    student = roster.student(student_id) if student_id else None
    return student.name if student else None


def present(
    roster: Roster, user: User, alert: Alert, translator: Translator | None = None
) -> AlertPublic:
    name = student_name(roster, alert.student_id) if may_see_name(user, alert) else None
    return AlertPublic(
        description=None if translator is None else measured(alert, translator),
        id=alert.id,
        rule=alert.rule,
        severity=alert.severity.value,
        state=alert.state,
        summary=alert.summary,
        school=alert.school,
        student_id=alert.student_id,
        student_name=name,
        class_id=alert.class_id,
        lesson_id=alert.lesson_id,
        device_id=alert.device_id,
        detail=alert.detail,
        count=alert.count,
        opened_at=alert.opened_at,
        last_seen_at=alert.last_seen_at,
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=alert.acknowledged_by,
        resolved_at=alert.resolved_at,
        resolved_by=alert.resolved_by,
        outcome=alert.outcome,
        escalation_level=alert.escalation_level,
        silenced=alert.silenced,
    )


def audit_alert_reads(audit: AuditLog, user: User, alerts: list[Alert], action: str) -> None:
    """One audit row per student whose health data this person was shown."""
    audit.record_many(
        user,
        action,
        [
            ("student", a.student_id, f"alert {a.id} ({a.rule.value})")
            for a in alerts
            if a.is_health and a.student_id is not None
        ],
    )
