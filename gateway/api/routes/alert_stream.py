"""The live alert stream (server-sent events) for the dashboard and other listeners.

Each person hears only the alerts sent to them; a revoked token ends the stream at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request

from gateway.alerts.notification import Notification
from gateway.alerts.visibility import is_recipient
from gateway.api.alert_views import audit_alert_reads, present
from gateway.api.deps import (
    STAFF,
    Alerts,
    AuditDep,
    FailedLoginsDep,
    RosterDep,
    TranslatorDep,
    UsersDep,
    bearer_token,
    check_role,
    sign_in,
)
from gateway.api.event_stream import EventStream
from gateway.audit import AuditLog
from gateway.auth import User, Users
from gateway.i18n import Translator
from gateway.roster import Roster

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/alerts", tags=["alerts"])


@dataclass(frozen=True)
class StreamCaller:
    """Who opened a stream, and the token they opened it with (checked again per event)."""

    token: str
    user: User


def stream_user(
    request: Request,
    users: UsersDep,
    limiter: FailedLoginsDep,
    authorization: Annotated[str | None, Header()] = None,
    access_token: Annotated[str | None, Query()] = None,
) -> StreamCaller:
    """Bearer header, or `?access_token=` for browsers' EventSource, which cannot set headers.
    Staff only: the auditor reads the audit log and nothing else, so hears no alerts either."""
    token = bearer_token(authorization) or access_token
    user = sign_in(request, users, limiter, token)
    assert token is not None  # sign_in refuses a request without one
    check_role(user, STAFF)
    return StreamCaller(token, user)


def still_allowed(users: Users, caller: StreamCaller) -> bool:
    """Whether the stream's token still names the same user with the same role.

    A stream lives for hours: a user revoked (or given a new token or role) since it opened
    must stop hearing of health alerts at once, not when the browser reconnects.
    """
    return users.authenticate(caller.token) == caller.user


def _event(
    roster: Roster, audit: AuditLog, user: User, translator: Translator, n: Notification
) -> str | None:
    visible = [a for a in n.alerts if is_recipient(user, a)]
    if not visible:
        return None
    audit_alert_reads(audit, user, visible, "stream_alert")
    body = {
        "notification_id": n.id,
        "kind": n.kind.value,
        "school": n.school,
        "rule": n.rule.value,
        "severity": n.severity.value,
        "at": n.at.isoformat(),
        # As GET /api/alerts words them (in the reader's language), so that a page can show
        # an alert as it arrives, as the same row its list would.
        "alerts": [present(roster, user, a, translator).model_dump(mode="json") for a in visible],
    }
    return f"id: {n.id}\nevent: alert\ndata: {json.dumps(body)}\n\n"


@router.get("/stream")
async def stream(
    request: Request,
    alerts: Alerts,
    roster: RosterDep,
    audit: AuditDep,
    users: UsersDep,
    translator: TranslatorDep,
    caller: Annotated[StreamCaller, Depends(stream_user)],
) -> EventStream:
    user = caller.user
    sub = alerts.hub.subscribe(user, asyncio.get_running_loop())

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
                    if not still_allowed(users, caller):
                        log.info("SSE stream of %s ended: access revoked", user.id)
                        return
                    yield ": keep-alive\n\n"
                    continue
                if n is None:
                    return  # the gateway is stopping
                if not still_allowed(users, caller):
                    log.info("SSE stream of %s ended: access revoked", user.id)
                    return
                text = _event(roster, audit, user, translator, n)
                if text is not None:
                    yield text
        finally:
            alerts.hub.unsubscribe(sub)

    return EventStream(events(), sub.cut)
