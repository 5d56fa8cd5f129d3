"""Alerts for people: list them, read one with its history, acknowledge, resolve, recheck.

A student's name is shown only to health staff, and to the PE teacher for their own lesson;
everyone else sees the pseudonymous student id. Every read of health data is audited.
Silences, referrals, absences, warning levels, deliveries and the live stream are resources
of their own (modules beside this one) under the same /api/alerts prefix.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from gateway.alerts.lifecycle import LifecycleError
from gateway.alerts.model import Alert, AlertState, Rule
from gateway.alerts.service import AlertService
from gateway.alerts.visibility import may_act, may_read, readable
from gateway.api.alert_views import AlertPublic, audit_alert_reads, present
from gateway.api.deps import (
    Alerts,
    AnyStaff,
    AuditDep,
    HealthStaff,
    RosterDep,
    RowId,
    TranslatorDep,
    check_school,
)
from gateway.api.refusals import Refusal
from gateway.auth import User
from gateway.i18n import N_

router = APIRouter(prefix="/api/alerts", tags=["alerts"])


class AlertEventPublic(BaseModel):
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


class AlertDetail(AlertPublic):
    history: list[AlertEventPublic]


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=500)


class Resolution(Note):
    outcome: str = Field(default="resolved", pattern=r"^[a-z_]{1,32}$")


class Recheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temperature_c: float = Field(ge=34, le=43)
    # Where it was taken (the site) and with what: a recheck confirms a screen only with a
    # contact or ear thermometer, and a nurse reading the record later needs to know which.
    method: Literal["axillary", "oral", "ear"] = "axillary"
    thermometer: Literal["electronic", "mercury", "infrared_ear"] | None = None


@router.get("", response_model=list[AlertPublic])
def list_alerts(
    alerts: Alerts,
    roster: RosterDep,
    audit: AuditDep,
    user: AnyStaff,
    translator: TranslatorDep,
    school: str | None = None,
    rule: Rule | None = None,
    state: AlertState | None = None,
    limit: int = Query(default=200, ge=1, le=2000),
) -> list[AlertPublic]:
    check_school(user, school)
    # Health alerts only for the people they are sent to; device alerts for everyone; each
    # only within the user's schools.
    found = alerts.find(
        school=school,
        rule=rule,
        state=state,
        limit=limit,
        readable=readable(user),
        schools=user.schools,
    )
    audit_alert_reads(audit, user, found, "list_alert")
    return [present(roster, user, a, translator) for a in found]


@router.get("/{alert_id}", response_model=AlertDetail)
def get_alert(
    alert_id: RowId,
    alerts: Alerts,
    roster: RosterDep,
    audit: AuditDep,
    user: AnyStaff,
    translator: TranslatorDep,
) -> AlertDetail:
    alert = _readable_or_404(alerts, user, alert_id)
    audit_alert_reads(audit, user, [alert], "read_alert")
    history = [
        AlertEventPublic(at=e.at, actor=e.actor, action=e.action, detail=e.detail)
        for e in alerts.history(alert_id)
    ]
    return AlertDetail(**present(roster, user, alert, translator).model_dump(), history=history)


def _readable_or_404(service: AlertService, user: User, alert_id: int) -> Alert:
    """The alert, if this person may see it; a health alert that is not theirs is answered
    exactly like an unknown id, so that its existence (and its kind) tells them nothing."""
    alert = service.get(alert_id)
    if alert is None or not may_read(user, alert):
        raise Refusal(404, N_("no alert {alert_id}"), alert_id=alert_id)
    return alert


def _acting(service: AlertService, user: User, alert_id: int) -> Alert:
    alert = _readable_or_404(service, user, alert_id)
    if not may_act(user, alert):
        # Only alerts everyone may read get here (device alerts): naming the rule says nothing
        # the person could not list for themselves.
        raise Refusal(
            403,
            N_("role {role} does not handle {rule} alerts"),
            role=user.role.value,
            rule=alert.rule.value,
        )
    return alert


@router.post("/{alert_id}/acknowledge", response_model=AlertPublic)
def acknowledge(
    alert_id: RowId,
    alerts: Alerts,
    roster: RosterDep,
    audit: AuditDep,
    user: AnyStaff,
    translator: TranslatorDep,
    body: Note | None = None,
) -> AlertPublic:
    body = body or Note()  # a bare POST acknowledges without a note
    _acting(alerts, user, alert_id)
    try:
        alert = alerts.acknowledge(alert_id, user.id, body.note)
    except LifecycleError as exc:
        raise Refusal.of(409, exc) from None
    # The answer shows the alert (name, reading) to the person: a read like any other.
    audit_alert_reads(audit, user, [alert], "acknowledge_alert")
    return present(roster, user, alert, translator)


@router.post("/{alert_id}/resolve", response_model=AlertPublic)
def resolve(
    alert_id: RowId,
    alerts: Alerts,
    roster: RosterDep,
    audit: AuditDep,
    user: AnyStaff,
    translator: TranslatorDep,
    body: Resolution | None = None,
) -> AlertPublic:
    body = body or Resolution()
    _acting(alerts, user, alert_id)
    try:
        alert = alerts.resolve(alert_id, user.id, body.outcome, body.note)
    except LifecycleError as exc:
        raise Refusal.of(409, exc) from None
    audit_alert_reads(audit, user, [alert], "resolve_alert")
    return present(roster, user, alert, translator)


@router.post("/{alert_id}/recheck", response_model=AlertPublic)
def recheck(
    alert_id: RowId,
    body: Recheck,
    alerts: Alerts,
    roster: RosterDep,
    audit: AuditDep,
    user: HealthStaff,
    translator: TranslatorDep,
) -> AlertPublic:
    _readable_or_404(alerts, user, alert_id)
    try:
        alert = alerts.recheck(alert_id, user.id, body.temperature_c, body.method, body.thermometer)
    except LifecycleError as exc:
        raise Refusal.of(409, exc) from None
    audit_alert_reads(audit, user, [alert], "recheck_alert")
    return present(roster, user, alert, translator)
