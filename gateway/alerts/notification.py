"""A notification (one or a group of alerts) and its pseudonymous, name-free payload."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Protocol

from gateway.alerts.model import Alert, Rule, Severity
from gateway.alerts.wording import RULE_NAMES, SEVERITY_NAMES, Wording, facts
from gateway.i18n import N_


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


KIND_NAMES: Final[dict[NotificationKind, str]] = {
    NotificationKind.OPENED: N_("New"),
    NotificationKind.RENOTIFIED: N_("Still open"),
    NotificationKind.ESCALATED: N_("ESCALATED"),
    NotificationKind.RESOLVED: N_("Resolved"),
}
# Alerts shown one by one in a robot message; the rest are counted.
SHOWN_ALERTS: Final = 20


def headline(n: Notification, w: Wording) -> str:
    """One line: severity, what happened to the alert, its kind, the school, how many."""
    t = w.translator
    text = t.gettext("[{severity}] {kind}: {rule} at {school}").format(
        severity=w.name(SEVERITY_NAMES, n.severity),
        kind=w.name(KIND_NAMES, n.kind),
        rule=w.name(RULE_NAMES, n.rule),
        school=n.school,
    )
    if len(n.alerts) > 1:
        many = t.ngettext("{count} alert", "{count} alerts", len(n.alerts))
        text = t.gettext("{headline} ({alerts})").format(
            headline=text, alerts=many.format(count=len(n.alerts))
        )
    return text


def markdown(n: Notification, w: Wording) -> str:
    """Markdown body for group robots, in the reader's language; pseudonymous ids only."""
    t = w.translator
    # Chinese puts a full-width colon after a label.
    line = t.gettext("{label}: {value}").format
    lines = [
        f"**{headline(n, w)}**",
        line(label=t.gettext("Category"), value=w.name(RULE_NAMES, n.rule)),
    ]
    for a in n.alerts[:SHOWN_ALERTS]:
        lines.append("")
        lines.append(f"> **#{a.id}**")
        lines += [f"> {line(label=label, value=value)}" for label, value in facts(a, w)]
    if len(n.alerts) > SHOWN_ALERTS:
        lines.append("")
        lines.append(t.gettext("… and {count} more").format(count=len(n.alerts) - SHOWN_ALERTS))
    link = w.link()
    if link is not None:
        lines.append("")
        lines.append(line(label=t.gettext("Open in dashboard"), value=f"[{link}]({link})"))
    return "\n".join(lines)
