"""`GET /api/audit`: the auditor alone reads the log, filtered and in pages; each read is logged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.auth import Role, User
from tests.gateway.api.conftest import Campus

DAY = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
NURSE = User("h1", "Nurse", Role.HEALTH_STAFF)
TEACHER = User("t1", "Teacher One", Role.PE_TEACHER)


def audit(campus: Campus, user: str = "au1", **params: Any) -> Any:
    response = campus.client.get("/api/audit", headers=campus.auth(user), params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def logged(campus: Campus) -> Campus:
    """Reads recorded at known times, and one made through the API just now."""
    log = campus.gateway.audit
    log.record(NURSE, "read_alert", "student", "s1", "alert 1 (fever)", at=DAY)
    log.record(NURSE, "read_alert", "student", "s2", "alert 2 (fever)", at=DAY + timedelta(hours=1))
    log.record(TEACHER, "live_view", "student_heart_rate", "s1", "lesson=l1", at=DAY.replace(day=3))
    log.record(TEACHER, "read_results", "student_fitness", "s3", "", at=DAY.replace(day=4))
    # A subject type that only starts like a student's is no student.
    log.record(NURSE, "other", "studentx", "s1", "", at=DAY.replace(day=5))
    assert campus.get("/api/classes/5a/students", "h1").status_code == 200  # type: ignore[attr-defined]
    return campus


def test_the_auditor_filters_by_student_user_and_time(logged: Campus) -> None:
    everything = audit(logged)["entries"]
    assert len(everything) == 8  # five recorded above, three from the class roster read
    assert [e["id"] for e in everything] == sorted((e["id"] for e in everything), reverse=True)
    assert all("王" not in str(e) for e in everything)  # ids, never names

    s1 = audit(logged, student="s1")["entries"]
    assert [(e["action"], e["subject_type"]) for e in s1] == [
        ("read_class_roster", "student"),
        ("live_view", "student_heart_rate"),
        ("read_alert", "student"),
    ]
    assert {e["user_id"] for e in audit(logged, user_id="t1")["entries"]} == {"t1"}
    window = audit(
        logged,
        since=DAY.isoformat(),
        until=(DAY + timedelta(days=1)).isoformat(),  # exclusive: not the one at that time
    )["entries"]
    assert [e["subject_id"] for e in window] == ["s2", "s1"]
    # The same window given in China's time zone.
    shifted = audit(
        logged,
        since="2026-11-02T16:00:00+08:00",
        until="2026-11-03T16:00:00+08:00",
    )["entries"]
    assert [e["subject_id"] for e in shifted] == ["s2", "s1"]
    both = audit(logged, student="s1", user_id="h1", until=DAY.replace(day=3).isoformat())
    assert [e["action"] for e in both["entries"]] == ["read_alert"]


def test_pages_follow_one_another_without_gaps_or_overlaps(logged: Campus) -> None:
    seen: list[int] = []
    page = audit(logged, limit=3)
    pages = 1
    while True:
        seen += [e["id"] for e in page["entries"]]
        if page["next_before_id"] is None:
            break
        page = audit(logged, limit=3, before_id=page["next_before_id"])
        pages += 1
    assert pages == 3
    everything = [e["id"] for e in audit(logged)["entries"] if e["action"] != "read_audit"]
    assert [i for i in seen if i in everything] == everything
    assert len(seen) == len(set(seen))


def test_each_read_of_the_log_is_itself_logged(logged: Campus) -> None:
    audit(logged, student="s1", since=DAY.isoformat())
    audit(logged, limit=2)
    reads = logged.gateway.audit.entries(subject_type="audit_log")
    assert [(r.user_id, r.role, r.action) for r in reads] == [("au1", "auditor", "read_audit")] * 2
    assert reads[1].subject_id == f"student=s1 since={DAY.isoformat()}"
    assert reads[1].detail == "entries=3"
    assert reads[0].subject_id == "all" and reads[0].detail == "entries=2"
    # The next read shows them.
    newest = audit(logged, limit=1)["entries"][0]
    assert (newest["action"], newest["subject_type"]) == ("read_audit", "audit_log")


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.AUDITOR])
def test_every_other_role_is_refused(logged: Campus, role: Role) -> None:
    if role is Role.DISTRICT:
        logged.gateway.districts.add("D1", "District One")
        logged.tokens["d1"] = logged.gateway.users.create("d1", "Office", role, district="D1")
    user = {
        Role.CAMPUS_IT: "it1",
        Role.PE_TEACHER: "t1",
        Role.HEALTH_STAFF: "h1",
        Role.DISTRICT: "d1",
    }[role]
    response = logged.client.get("/api/audit", headers=logged.auth(user))
    assert response.status_code == 403
    assert "auditor" in response.json()["detail"]
    assert logged.client.get("/api/audit").status_code == 401
    assert logged.gateway.audit.entries(subject_type="audit_log") == []


def test_bad_ranges_are_refused(logged: Campus) -> None:
    headers = logged.auth("au1")
    for params in (
        {"since": DAY.isoformat(), "until": DAY.isoformat()},
        {"since": "2026-11-02T08:00:00"},  # no offset: which time zone?
        {"limit": 0},
        {"before_id": 0},
    ):
        response = logged.client.get("/api/audit", headers=headers, params=params)
        assert response.status_code == 422, params
    assert logged.gateway.audit.entries(subject_type="audit_log") == []
