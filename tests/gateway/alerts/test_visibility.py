"""Who is told of an alert, who sees names, and which webhooks take which notifications."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from gateway.alerts.config import WebhookTarget
from gateway.alerts.delivery.webhook import accepted
from gateway.alerts.model import Alert, AlertState, Rule, Severity
from gateway.alerts.notification import Notification, NotificationKind, markdown
from gateway.alerts.visibility import is_recipient, may_read, may_see_name
from gateway.alerts.wording import Wording
from gateway.auth import Role, User
from gateway.i18n import Catalogs

AT = datetime(2026, 9, 1, tzinfo=UTC)
SCHOOLS = frozenset({"sch1"})
NURSE = User("nurse", "Nurse", Role.HEALTH_STAFF, SCHOOLS)
T1 = User("t1", "Teacher 1", Role.PE_TEACHER, SCHOOLS)
T2 = User("t2", "Teacher 2", Role.PE_TEACHER, SCHOOLS)
IT = User("it", "IT", Role.CAMPUS_IT, SCHOOLS)


def alert(
    rule: Rule,
    student: str | None = "s1",
    lesson: str | None = None,
    teacher: str | None = None,
    severity: Severity = Severity.WARNING,
) -> Alert:
    return Alert(
        id=1,
        rule=rule,
        key="k",
        school="sch1",
        severity=severity,
        state=AlertState.OPEN,
        summary="s",
        student_id=student,
        class_id="c1",
        lesson_id=lesson,
        teacher_id=teacher,
        device_id="d1",
        detail={},
        count=1,
        opened_at=AT,
        last_seen_at=AT,
        acknowledged_at=None,
        acknowledged_by=None,
        resolved_at=None,
        resolved_by=None,
        outcome=None,
        last_notified_at=None,
        notify_count=0,
        escalation_level=0,
        silenced=False,
    )


@pytest.mark.parametrize(
    ("a", "recipients", "named"),
    [
        (alert(Rule.FEVER), {"nurse"}, {"nurse"}),
        (alert(Rule.HR_HIGH, lesson="pe-1", teacher="t1"), {"nurse", "t1"}, {"nurse", "t1"}),
        (alert(Rule.HR_SIGNAL_LOST, lesson="pe-1", teacher="t2"), {"nurse", "t2"}, {"nurse", "t2"}),
        (alert(Rule.WARNING_LEVEL, student=None), {"nurse"}, set()),
        (alert(Rule.DEVICE_OFFLINE, student=None), {"it"}, set()),
        (alert(Rule.BATTERY_LOW, student=None), {"it"}, set()),
    ],
)
def test_recipients_and_names(a: Alert, recipients: set[str], named: set[str]) -> None:
    users = (NURSE, T1, T2, IT)
    assert {u.id for u in users if is_recipient(u, a)} == recipients
    assert {u.id for u in users if may_see_name(u, a)} == named


@pytest.mark.parametrize("rule", list(Rule))
def test_nobody_hears_of_reads_or_is_named_in_another_schools_alerts(rule: Rule) -> None:
    other = replace(alert(rule, lesson="pe-1", teacher="t1"), school="sch2")
    for user in (NURSE, T1, T2, IT):
        assert not is_recipient(user, other)
        assert not may_read(user, other)
        assert not may_see_name(user, other)


def note(a: Alert, kind: NotificationKind = NotificationKind.OPENED) -> Notification:
    return Notification(
        kind=kind, school=a.school, rule=a.rule, severity=a.severity, alerts=(a,), at=AT
    )


def test_webhook_filters() -> None:
    fever = note(alert(Rule.FEVER))
    target = WebhookTarget(name="x", url="http://127.0.0.1/h")
    assert accepted(target, fever)
    assert not accepted(target.model_copy(update={"min_severity": Severity.CRITICAL}), fever)
    assert not accepted(target.model_copy(update={"rules": [Rule.HR_HIGH]}), fever)
    duty = target.model_copy(update={"escalation_only": True})
    assert not accepted(duty, fever)
    assert accepted(duty, note(alert(Rule.FEVER), NotificationKind.ESCALATED))
    # Escalation passes a severity floor: an unanswered warning is now urgent.
    assert accepted(
        target.model_copy(update={"min_severity": Severity.CRITICAL}),
        note(alert(Rule.FEVER), NotificationKind.ESCALATED),
    )


def test_markdown_carries_pseudonyms_and_caps_length() -> None:
    many = tuple(replace(alert(Rule.FEVER), id=i, student_id=f"s{i}") for i in range(30))
    n = Notification(
        kind=NotificationKind.OPENED,
        school="sch1",
        rule=Rule.FEVER,
        severity=Severity.WARNING,
        alerts=many,
        at=AT,
    )
    text = markdown(n, Wording(Catalogs().translator("en")))
    assert "(30 alerts)" in text and "Student: s0\n" in text and "… and 10 more" in text
    assert "Student: s19\n" in text and "s20" not in text
    text = markdown(n, Wording(Catalogs().translator("zh_CN")))
    assert "（30 条）" in text and "学生：s0\n" in text and "……另有 10 条" in text


def test_wecom_content_fits_the_robots_byte_limit() -> None:
    from gateway.alerts.config import WebhookFormat, WebhookTarget
    from gateway.alerts.delivery.webhook import WECOM_MAX_BYTES, body_for

    # Twenty heart-rate alerts in Chinese (three bytes a character), their classes long names.
    detail = {"bpm": 199, "max_value": 199, "limit_bpm": 179.6, "held_s": 61, "age": 12}
    long = "高一（3）班体育选修" * 6
    many = tuple(
        replace(alert(Rule.HR_HIGH), id=i, class_id=long, detail=detail) for i in range(20)
    )
    n = Notification(
        kind=NotificationKind.OPENED,
        school="sch1",
        rule=Rule.HR_HIGH,
        severity=Severity.CRITICAL,
        alerts=many,
        at=AT,
    )
    w = Wording(Catalogs().translator("zh_CN"))
    assert len(markdown(n, w).encode()) > WECOM_MAX_BYTES
    target = WebhookTarget(name="w", url="http://x", format=WebhookFormat.WECOM)
    content = body_for(target, n, w)["markdown"]["content"]
    assert WECOM_MAX_BYTES - 3 <= len(content.encode()) <= WECOM_MAX_BYTES
    assert markdown(n, w).startswith(content)
