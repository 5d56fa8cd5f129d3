"""Alerts for people: list and act on them, rechecks, silences, referrals, levels, SSE stream.

A student's name is shown only to health staff, and to the PE teacher for their own lesson;
everyone else sees the pseudonymous student id. Every read of health data is audited.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from gateway.alerts.lifecycle import LifecycleError
from gateway.alerts.model import Alert, AlertState, Rule
from gateway.alerts.notification import Notification
from gateway.alerts.referrals import REFERRAL_STATES, Referral
from gateway.alerts.service import AlertService
from gateway.alerts.visibility import is_recipient, may_act, may_read, may_see_name, readable
from gateway.api.deps import AnyStaff, CampusIT, GatewayDep, HealthStaff
from gateway.api.event_stream import EventStream
from gateway.auth import Role, User
from gateway.service import Gateway

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/alerts", tags=["alerts"])


# --- schemas ----------------------------------------------------------------------------------
class AlertPublic(BaseModel):
    id: int
    rule: Rule
    severity: str
    state: AlertState
    summary: str
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
    method: Literal["axillary", "oral", "ear"] = "axillary"


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


class AbsenceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    student_id: str
    day: date
    reason: Literal["illness", "other"]
    symptoms: str = Field(default="", max_length=200)


class ScopeLevelPublic(BaseModel):
    scope: str
    fevers: int
    illness_absences: int
    cases: int
    level: str
    # Distinct students with a case over the district's window of days ending on `day`
    # (null when its thresholds have no window).
    window_cases: int | None = None
    window_days: int | None = None


class WarningLevelsPublic(BaseModel):
    school: str
    day: date
    owner: str
    school_level: ScopeLevelPublic
    classes: list[ScopeLevelPublic]


class DeliveryPublic(BaseModel):
    notification_id: str
    channel: str
    target: str
    attempt: int
    status: str
    http_status: int | None
    error: str | None
    alert_ids: list[int]
    at: datetime


# --- helpers ----------------------------------------------------------------------------------
def _service(gateway: Gateway) -> AlertService:
    if gateway.alerts is None:
        raise HTTPException(503, "alerts are disabled on this gateway (alerts_enabled=false)")
    return gateway.alerts


def _name(gateway: Gateway, student_id: str | None) -> str | None:
    student = gateway.roster.student(student_id) if student_id else None
    return student.name if student else None


def present(gateway: Gateway, user: User, alert: Alert) -> AlertPublic:
    name = _name(gateway, alert.student_id) if may_see_name(user, alert) else None
    return AlertPublic(
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


def audit_alert_reads(gateway: Gateway, user: User, alerts: list[Alert], action: str) -> None:
    """One audit row per student whose health data this person was shown."""
    gateway.audit.record_many(
        user,
        action,
        [
            ("student", a.student_id, f"alert {a.id} ({a.rule.value})")
            for a in alerts
            if a.is_health and a.student_id is not None
        ],
    )


# --- routes with fixed paths first (they would otherwise be taken for an alert id) -------------
@router.get("/silences", response_model=list[SilencePublic])
def list_silences(
    gateway: GatewayDep, user: AnyStaff, school: str | None = None
) -> list[SilencePublic]:
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
        for s in _service(gateway).engine.lifecycle.silences(school)
    ]


@router.post("/silences", status_code=201, response_model=SilencePublic)
def add_silence(body: SilenceCreate, gateway: GatewayDep, user: AnyStaff) -> SilencePublic:
    if user.role is Role.PE_TEACHER:
        raise HTTPException(403, "silences are set by campus IT or health staff")
    try:
        s = _service(gateway).engine.lifecycle.add_silence(
            body.school,
            body.starts_at,
            body.ends_at,
            user.id,
            body.reason,
            body.rule,
            body.device_id,
            body.class_id,
        )
    except LifecycleError as exc:
        raise HTTPException(422, str(exc)) from None
    return SilencePublic(id=s.id, created_by=s.created_by, **body.model_dump())


@router.delete("/silences/{silence_id}", status_code=204)
def delete_silence(silence_id: int, gateway: GatewayDep, user: AnyStaff) -> None:
    if user.role is Role.PE_TEACHER:
        raise HTTPException(403, "silences are set by campus IT or health staff")
    if not _service(gateway).engine.lifecycle.delete_silence(silence_id):
        raise HTTPException(404, f"no silence {silence_id}")


@router.get("/referrals", response_model=list[ReferralPublic])
def list_referrals(
    gateway: GatewayDep,
    user: HealthStaff,
    school: str | None = None,
    status_: Annotated[str | None, Query(alias="status")] = None,
    class_id: str | None = None,
) -> list[ReferralPublic]:
    if class_id is not None and gateway.roster.class_of(class_id) is None:
        # An unknown class is a typo to point out, not an empty list that looks like "none".
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"class_id: no class {class_id!r}")
    refs = _service(gateway).engine.referrals.find(school=school, status=status_, class_id=class_id)
    gateway.audit.record_many(
        user, "read_referral", [("student", r.student_id, f"vision referral {r.id}") for r in refs]
    )
    return [_referral(gateway, r) for r in refs]


def _referral(gateway: Gateway, r: Referral) -> ReferralPublic:
    return ReferralPublic(
        id=r.id,
        school=r.school,
        student_id=r.student_id,
        student_name=_name(gateway, r.student_id),
        class_id=r.class_id,
        screened_at=r.screened_at,
        device_id=r.device_id,
        findings=r.findings,
        worst_grade=r.worst_grade,
        status=r.status,
    )


@router.post("/referrals/{referral_id}/status", status_code=204)
def update_referral(
    referral_id: int, body: ReferralUpdate, gateway: GatewayDep, user: HealthStaff
) -> None:
    service = _service(gateway)
    assert body.status in REFERRAL_STATES
    if not service.engine.referrals.set_status(
        referral_id, body.status, user.id, service.engine.clock.now()
    ):
        raise HTTPException(404, f"no referral {referral_id}")


@router.post("/absences", status_code=201, response_model=WarningLevelsPublic)
def record_absence(
    body: AbsenceCreate, gateway: GatewayDep, user: HealthStaff
) -> WarningLevelsPublic:
    service = _service(gateway)
    student = gateway.roster.student(body.student_id)
    klass = gateway.roster.class_of(student.class_id) if student else None
    if student is None or klass is None:
        raise HTTPException(422, f"student_id: {body.student_id!r} is not on the roster")
    school = klass["school"]
    service.engine.warning_levels.record_absence(
        school,
        body.day,
        student.id,
        student.class_id,
        body.reason,
        body.symptoms,
        user.id,
        service.engine.clock.now(),
    )
    service.engine.levels_changed(school, body.day)
    return _levels(service, school, body.day)


@router.get("/warning-levels", response_model=WarningLevelsPublic)
def warning_levels(
    gateway: GatewayDep, user: HealthStaff, school: str, day: date | None = None
) -> WarningLevelsPublic:
    service = _service(gateway)
    # Every school has a level, green when nothing happened: a misspelt or foreign school
    # would read as all clear. Only a school the gateway knows is answered.
    if not (gateway.roster.has_school(school) or service.configs.configured(school)):
        raise HTTPException(
            404,
            f"unknown school {school!r}: no class of the roster and no alert config belongs to it",
        )
    if day is None:
        zone = service.configs.for_school(school).zone
        day = service.engine.clock.now().astimezone(zone).date()
    return _levels(service, school, day)


def _levels(service: AlertService, school: str, day: date) -> WarningLevelsPublic:
    levels = service.engine.levels(school, day)

    def scope(s: Any) -> ScopeLevelPublic:
        return ScopeLevelPublic(
            scope=s.scope,
            fevers=s.fevers,
            illness_absences=s.illness_absences,
            cases=s.cases,
            level=s.level.value,
            window_cases=s.window_cases,
            window_days=s.window_days,
        )

    return WarningLevelsPublic(
        school=school,
        day=day,
        owner=service.configs.warning_levels.owner,
        school_level=scope(levels.school_level),
        classes=[scope(c) for c in levels.classes],
    )


@router.get("/deliveries", response_model=list[DeliveryPublic])
def deliveries(
    gateway: GatewayDep,
    user: CampusIT,
    notification_id: str | None = None,
    limit: int = Query(default=200, ge=1, le=5000),
) -> list[DeliveryPublic]:
    return [
        DeliveryPublic(**vars(e))
        for e in _service(gateway).delivery_log.entries(
            notification_id=notification_id, limit=limit
        )
    ]


# --- the SSE stream ---------------------------------------------------------------------------
@dataclass(frozen=True)
class StreamCaller:
    """Who opened a stream, and the token they opened it with (checked again per event)."""

    token: str
    user: User


def stream_user(
    gateway: GatewayDep,
    authorization: Annotated[str | None, Header()] = None,
    access_token: Annotated[str | None, Query()] = None,
) -> StreamCaller:
    """Bearer header, or `?access_token=` for browsers' EventSource, which cannot set headers."""
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    token = token or access_token
    user = gateway.users.authenticate(token) if token else None
    if token is None or user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "send a bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return StreamCaller(token, user)


def _still_allowed(gateway: Gateway, caller: StreamCaller) -> bool:
    """Whether the stream's token still names the same user with the same role.

    A stream lives for hours: a user revoked (or given a new token or role) since it opened
    must stop hearing of health alerts at once, not when the browser reconnects.
    """
    return gateway.users.authenticate(caller.token) == caller.user


def _event(gateway: Gateway, user: User, n: Notification) -> str | None:
    visible = [a for a in n.alerts if is_recipient(user, a)]
    if not visible:
        return None
    audit_alert_reads(gateway, user, visible, "stream_alert")
    body = {
        "notification_id": n.id,
        "kind": n.kind.value,
        "school": n.school,
        "rule": n.rule.value,
        "severity": n.severity.value,
        "at": n.at.isoformat(),
        "alerts": [present(gateway, user, a).model_dump(mode="json") for a in visible],
    }
    return f"id: {n.id}\nevent: alert\ndata: {json.dumps(body)}\n\n"


@router.get("/stream")
async def stream(
    request: Request, gateway: GatewayDep, caller: Annotated[StreamCaller, Depends(stream_user)]
) -> EventStream:
    service = _service(gateway)
    user = caller.user
    sub = service.hub.subscribe(user, asyncio.get_running_loop())

    async def events() -> AsyncIterator[str]:
        try:
            # A first comment tells the client that its subscription is live.
            yield ": subscribed\n\n"
            while True:
                try:
                    n = await asyncio.wait_for(sub.queue.get(), timeout=15)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    if not _still_allowed(gateway, caller):
                        log.info("SSE stream of %s ended: access revoked", user.id)
                        return
                    yield ": keep-alive\n\n"
                    continue
                if n is None:
                    return  # the gateway is stopping
                if not _still_allowed(gateway, caller):
                    log.info("SSE stream of %s ended: access revoked", user.id)
                    return
                text = _event(gateway, user, n)
                if text is not None:
                    yield text
        finally:
            service.hub.unsubscribe(sub)

    return EventStream(events(), sub.cut)


# --- alerts -----------------------------------------------------------------------------------
@router.get("", response_model=list[AlertPublic])
def list_alerts(
    gateway: GatewayDep,
    user: AnyStaff,
    school: str | None = None,
    rule: Rule | None = None,
    state: AlertState | None = None,
    limit: int = Query(default=200, ge=1, le=2000),
) -> list[AlertPublic]:
    # Health alerts only for the people they are sent to; device alerts for everyone.
    alerts = _service(gateway).engine.lifecycle.find(
        school=school, rule=rule, state=state, limit=limit, readable=readable(user)
    )
    audit_alert_reads(gateway, user, alerts, "list_alert")
    return [present(gateway, user, a) for a in alerts]


@router.get("/{alert_id}", response_model=AlertDetail)
def get_alert(alert_id: int, gateway: GatewayDep, user: AnyStaff) -> AlertDetail:
    service = _service(gateway)
    alert = _readable_or_404(service, user, alert_id)
    audit_alert_reads(gateway, user, [alert], "read_alert")
    history = [
        AlertEventPublic(at=e.at, actor=e.actor, action=e.action, detail=e.detail)
        for e in service.engine.lifecycle.history(alert_id)
    ]
    return AlertDetail(**present(gateway, user, alert).model_dump(), history=history)


def _readable_or_404(service: AlertService, user: User, alert_id: int) -> Alert:
    """The alert, if this person may see it; a health alert that is not theirs is answered
    exactly like an unknown id, so that its existence (and its kind) tells them nothing."""
    alert = service.engine.lifecycle.get(alert_id)
    if alert is None or not may_read(user, alert):
        raise HTTPException(404, f"no alert {alert_id}")
    return alert


def _acting(service: AlertService, user: User, alert_id: int) -> Alert:
    alert = _readable_or_404(service, user, alert_id)
    if not may_act(user, alert):
        # Only alerts everyone may read get here (device alerts): naming the rule says nothing
        # the person could not list for themselves.
        raise HTTPException(
            403, f"role {user.role.value} does not handle {alert.rule.value} alerts"
        )
    return alert


@router.post("/{alert_id}/acknowledge", response_model=AlertPublic)
def acknowledge(
    alert_id: int, gateway: GatewayDep, user: AnyStaff, body: Note | None = None
) -> AlertPublic:
    body = body or Note()  # a bare POST acknowledges without a note
    service = _service(gateway)
    _acting(service, user, alert_id)
    try:
        alert = service.engine.acknowledge(alert_id, user.id, body.note)
    except LifecycleError as exc:
        raise HTTPException(409, str(exc)) from None
    # The answer shows the alert (name, reading) to the person: a read like any other.
    audit_alert_reads(gateway, user, [alert], "acknowledge_alert")
    return present(gateway, user, alert)


@router.post("/{alert_id}/resolve", response_model=AlertPublic)
def resolve(
    alert_id: int, gateway: GatewayDep, user: AnyStaff, body: Resolution | None = None
) -> AlertPublic:
    body = body or Resolution()
    service = _service(gateway)
    _acting(service, user, alert_id)
    try:
        alert = service.engine.resolve(alert_id, user.id, body.outcome, body.note)
    except LifecycleError as exc:
        raise HTTPException(409, str(exc)) from None
    audit_alert_reads(gateway, user, [alert], "resolve_alert")
    return present(gateway, user, alert)


@router.post("/{alert_id}/recheck", response_model=AlertPublic)
def recheck(alert_id: int, body: Recheck, gateway: GatewayDep, user: HealthStaff) -> AlertPublic:
    service = _service(gateway)
    _readable_or_404(service, user, alert_id)
    try:
        alert = service.engine.recheck(alert_id, user.id, body.temperature_c, body.method)
    except LifecycleError as exc:
        raise HTTPException(409, str(exc)) from None
    audit_alert_reads(gateway, user, [alert], "recheck_alert")
    return present(gateway, user, alert)
