"""Who is told about an alert, and who may see the student's name (others see the pseudonym)."""

from __future__ import annotations

from gateway.alerts.model import DEVICE_RULES, HEART_RATE_RULES, Alert
from gateway.auth import Role, User


def is_recipient(user: User, alert: Alert) -> bool:
    """Whether *user* is notified of *alert* (the SSE stream sends only these)."""
    if alert.rule in DEVICE_RULES:
        return user.role is Role.CAMPUS_IT
    if user.role is Role.HEALTH_STAFF:
        return True
    # Heart-rate alerts go to the PE teacher of that lesson as well as to health staff.
    return (alert.rule in HEART_RATE_RULES and user.role is Role.PE_TEACHER
            and alert.teacher_id == user.id)


def may_see_name(user: User, alert: Alert) -> bool:
    """Health staff see names; a PE teacher only for an alert from their own lesson."""
    if alert.student_id is None:
        return False
    if user.role is Role.HEALTH_STAFF:
        return True
    return (user.role is Role.PE_TEACHER and alert.lesson_id is not None
            and alert.teacher_id == user.id)


def may_act(user: User, alert: Alert) -> bool:
    """Who may acknowledge or resolve: the alert's recipients."""
    return is_recipient(user, alert)
