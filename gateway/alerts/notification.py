"""A notification (one or a group of alerts) and its pseudonymous, name-free payload."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from gateway.alerts.model import Alert, Rule, Severity


class NotificationKind(StrEnum):
    OPENED = "opened"
    RENOTIFIED = "renotified"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Notification:
    kind: NotificationKind
    school: str
    rule: Rule
    severity: Severity
    alerts: tuple[Alert, ...]
    at: datetime
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def escalated(self) -> bool:
        return self.kind is NotificationKind.ESCALATED


class Channel(Protocol):
    """A way out for notifications; `send` must not block the caller."""

    def send(self, notification: Notification) -> None: ...

    def close(self) -> None: ...


def alert_payload(alert: Alert) -> dict[str, Any]:
    """An alert as it may leave the building: pseudonymous student id, never a name."""
    return {
        "id": alert.id,
        "rule": alert.rule.value,
        "severity": alert.severity.value,
        "state": alert.state.value,
        "summary": alert.summary,
        "school": alert.school,
        "student_id": alert.student_id,
        "class_id": alert.class_id,
        "lesson_id": alert.lesson_id,
        "device_id": alert.device_id,
        "count": alert.count,
        "opened_at": alert.opened_at.isoformat(),
        "last_seen_at": alert.last_seen_at.isoformat(),
        "detail": alert.detail,
    }


def notification_payload(n: Notification) -> dict[str, Any]:
    return {
        "type": "campusedge.alert",
        "notification_id": n.id,
        "kind": n.kind.value,
        "school": n.school,
        "rule": n.rule.value,
        "severity": n.severity.value,
        "at": n.at.isoformat(),
        "alerts": [alert_payload(a) for a in n.alerts],
    }


def headline(n: Notification) -> str:
    many = f" ({len(n.alerts)} alerts)" if len(n.alerts) > 1 else ""
    verb = {
        NotificationKind.OPENED: "",
        NotificationKind.RENOTIFIED: "still open: ",
        NotificationKind.ESCALATED: "ESCALATED: ",
        NotificationKind.RESOLVED: "resolved: ",
    }[n.kind]
    return f"[{n.severity.value}] {verb}{n.rule.value} at {n.school}{many}"


def markdown(n: Notification) -> str:
    """Markdown body for group robots; pseudonymous ids only."""
    lines = [f"**{headline(n)}**", ""]
    for a in n.alerts[:20]:
        who = f" · student `{a.student_id}`" if a.student_id else ""
        where = f" · class {a.class_id}" if a.class_id else ""
        lines.append(f"> #{a.id} {a.summary}{who}{where}")
    if len(n.alerts) > 20:
        lines.append(f"> … and {len(n.alerts) - 20} more")
    return "\n".join(lines)
