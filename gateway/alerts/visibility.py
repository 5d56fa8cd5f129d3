"""Who is told about an alert, and who may see the student's name (others see the pseudonym)."""

from __future__ import annotations

from gateway.alerts.model import DEVICE_RULES, HEART_RATE_RULES, Alert, Rule
from gateway.auth import Role, User


def in_schools(user: User, alert: Alert) -> bool:
    """Whether *alert* is of one of *user*'s schools: nobody hears of, reads or acts on
    another school's alerts."""
    return alert.school in user.schools


def is_recipient(user: User, alert: Alert) -> bool:
    """Whether *user* is notified of *alert* (the SSE stream sends only these)."""
    if not in_schools(user, alert):
        return False
    if alert.rule in DEVICE_RULES:
        return user.role is Role.CAMPUS_IT
    if user.role is Role.HEALTH_STAFF:
        return True
    # Heart-rate alerts go to the PE teacher of that lesson as well as to health staff.
    return (
        alert.rule in HEART_RATE_RULES
        and user.role is Role.PE_TEACHER
        and alert.teacher_id == user.id
    )


def may_see_name(user: User, alert: Alert) -> bool:
    """Health staff see names; a PE teacher only for an alert from their own lesson."""
    if alert.student_id is None or not in_schools(user, alert):
        return False
    if user.role is Role.HEALTH_STAFF:
        return True
    return (
        user.role is Role.PE_TEACHER and alert.lesson_id is not None and alert.teacher_id == user.id
    )


def may_act(user: User, alert: Alert) -> bool:
    """Who may acknowledge or resolve: the alert's recipients."""
    return is_recipient(user, alert)


def may_read(user: User, alert: Alert) -> bool:
    """Within the user's schools: device alerts for every role; a health alert only for the
    people it is sent to."""
    if not in_schools(user, alert):
        return False
    return alert.rule in DEVICE_RULES or user.role is Role.HEALTH_STAFF or is_recipient(user, alert)


# Rules anyone of a role may list, rules listed only for one teacher's lessons, that teacher.
Readable = tuple[frozenset[Rule], frozenset[Rule], str | None]


def readable(user: User) -> Readable:
    """`may_read` as a query: rules anyone of this role may list, rules listed only for the
    alerts of one teacher's lessons, and that teacher."""
    if user.role is Role.HEALTH_STAFF:
        return frozenset(Rule), frozenset(), None
    if user.role is Role.PE_TEACHER:
        return frozenset(DEVICE_RULES), frozenset(HEART_RATE_RULES), user.id
    return frozenset(DEVICE_RULES), frozenset(), None
