"""Opening and ending lessons through the HTTP API: one band per child, who may end a lesson."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from campusedge.topics import DeviceKind
from gateway.auth import Role
from gateway.fleet.registry import FleetRegistry
from gateway.roster import LessonKind
from tests.gateway.api.conftest import SCHOOL, Campus, now, reading


def open_lesson(campus: Campus, class_id: str, assignments: dict[str, str], teacher: str) -> Any:
    return campus.client.post(
        "/api/lessons",
        headers=campus.auth(teacher),
        json={"class_id": class_id, "assignments": assignments},
    )


def test_a_band_in_a_running_lesson_cannot_be_given_to_another_child(campus: Campus) -> None:
    first = open_lesson(campus, "5a", {"hr-01": "s1"}, "t1")
    assert first.status_code == 201, first.text
    taken = open_lesson(campus, "5b", {"hr-01": "s9"}, "t2")
    assert taken.status_code == 409, taken.text
    detail = taken.json()["detail"]
    assert "'hr-01'" in detail and first.json()["id"] in detail
    # Nothing of the refused lesson was written: the band still binds to s1 alone.
    assert campus.gateway.roster.lessons(class_id="5b") == []
    binding = campus.gateway.binder.bind(SCHOOL, "hr-01", now())
    assert binding is not None and binding.student_id == "s1"
    campus.feed(reading("hr-01", 1, now(), "heart_rate", 131, "bpm", DeviceKind.HR_BAND))
    assert campus.gateway.live_lessons.lessons() == [first.json()["id"]]
    # Once the first lesson ends the band is free again.
    r = campus.client.post(f"/api/lessons/{first.json()['id']}/end", headers=campus.auth("t1"))
    assert r.status_code == 200, r.text
    assert open_lesson(campus, "5b", {"hr-01": "s9"}, "t2").status_code == 201


def test_a_child_in_a_running_lesson_cannot_be_in_another(campus: Campus) -> None:
    first = open_lesson(campus, "5a", {"hr-01": "s1"}, "t1")
    assert first.status_code == 201, first.text
    again = open_lesson(campus, "5a", {"hr-02": "s1"}, "t2")
    assert again.status_code == 409, again.text
    assert "student 's1'" in again.json()["detail"] and first.json()["id"] in again.json()["detail"]
    # A fitness test session may run inside the lesson, with its own devices.
    r = campus.client.post(
        "/api/lessons",
        headers=campus.auth("t1"),
        json={"class_id": "5a", "kind": "fitness_test", "assignments": {"rope-01": "s1"}},
    )
    assert r.status_code == 201, r.text
    # One child wearing two devices in the same lesson is fine.
    campus.gateway.roster.add_student("s4", "Four", "F", date(2015, 1, 1), "5a")
    r = open_lesson(campus, "5a", {"hr-04": "s4", "rope-04": "s4"}, "t1")
    assert r.status_code == 201, r.text


def test_the_class_teacher_can_end_a_lesson_someone_else_opened(campus: Campus) -> None:
    campus.tokens["t3"] = campus.gateway.users.create(
        "t3", "Teacher Three", Role.PE_TEACHER, schools=[SCHOOL]
    )
    opened = open_lesson(campus, "5a", {"hr-01": "s1"}, "t2")
    assert opened.status_code == 201, opened.text
    url = f"/api/lessons/{opened.json()['id']}/end"
    # Neither the one who opened it nor the class's teacher: refused.
    assert campus.client.post(url, headers=campus.auth("t3")).status_code == 403
    r = campus.client.post(url, headers=campus.auth("t1"))
    assert r.status_code == 200, r.text
    assert r.json()["ended_at"] is not None


def test_an_unknown_class_is_named_as_such(campus: Campus) -> None:
    r = open_lesson(campus, "nope", {"hr-01": "s1"}, "t1")
    assert r.status_code == 404, r.text
    assert "unknown class 'nope'" in r.json()["detail"]
    assert "student" not in r.json()["detail"]


def test_device_ids_follow_the_wire_contract(campus: Campus) -> None:
    r = open_lesson(campus, "5a", {"hr 01/#": "s1"}, "t1")
    assert r.status_code == 422, r.text
    assert "hr 01/#" in r.text and "device id" in r.text
    assert campus.gateway.roster.lessons(class_id="5a") == []


def test_an_ended_lesson_holds_no_devices(campus: Campus) -> None:
    roster = campus.gateway.roster
    old = roster.start_lesson(
        "5b", "t2", LessonKind.LESSON, {"hr-01": "s9"}, at=now() - timedelta(hours=1)
    )
    roster.end_lesson(old.id)
    assert open_lesson(campus, "5a", {"hr-01": "s1"}, "t1").status_code == 201


def test_a_lesson_with_40000_assignments_opens_and_a_busy_device_among_them_is_named(
    campus: Campus,
) -> None:
    """More assignments than SQLite has variables for one statement (32,766): once a 500."""
    n = 40_000
    rows = "".join(f"b{i:05d},Student {i},M,2015-01-01,5a\n" for i in range(n))
    campus.gateway.roster.import_csv("student_id,name,sex,birth_date,class_id\n" + rows)
    big = {f"hr-{i:05d}": f"b{i:05d}" for i in range(n)}
    # A band near the end of the list is held by a running lesson of class 5b.
    held = open_lesson(campus, "5b", {"hr-39999": "s9"}, "t2")
    assert held.status_code == 201, held.text
    r = open_lesson(campus, "5a", big, "t1")
    assert r.status_code == 409, r.text[:300]
    assert "'hr-39999'" in r.json()["detail"]
    assert campus.gateway.roster.lessons(class_id="5a") == []
    campus.client.post(f"/api/lessons/{held.json()['id']}/end", headers=campus.auth("t2"))
    r = open_lesson(campus, "5a", big, "t1")
    assert r.status_code == 201, r.text[:300]
    assert campus.gateway.roster.assignments(r.json()["id"]) == big
    binding = campus.gateway.binder.bind(SCHOOL, "hr-39999", now())
    assert binding is not None and binding.student_id == "b39999"


def test_a_device_of_another_school_is_refused_beside_it_in_the_readers_language(
    campus: Campus,
) -> None:
    at = now()
    # hr-77 is enrolled for another school's box only; hr-78 for both schools' boxes (ids are
    # per school); hr-79 is only heard at another school, which says nothing of this one's.
    fleet = FleetRegistry(campus.gateway.db)
    fleet.enrol_box("sch-other", "box-o", ["hr-77", "hr-78"])
    fleet.enrol_box(SCHOOL, "box-here", ["hr-78"])
    campus.gateway.devices.apply([], [("sch-other", "hr-79", "hr_band", at, 1)])
    zh = {**campus.auth("t1"), "Accept-Language": "zh-CN"}
    body = {"class_id": "5a", "assignments": {"hr-01": "s1", "hr-77": "s2"}}
    r = campus.client.post("/api/lessons", headers=zh, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == "assignments.hr-77：'hr-77' 是其他学校的设备"
    assert campus.gateway.roster.lessons(class_id="5a") == []  # nothing of it was saved
    r = open_lesson(campus, "5a", {"hr-77": "s2"}, "t1")
    assert r.json()["detail"] == "assignments.hr-77: 'hr-77' is a device of another school"
    # A band enrolled here too, one only heard elsewhere, and one enrolled nowhere are handed out.
    r = open_lesson(campus, "5a", {"hr-78": "s1", "hr-79": "s2", "hr-new": "s3"}, "t1")
    assert r.status_code == 201, r.text


def test_a_busy_device_is_named_in_the_readers_language(campus: Campus) -> None:
    first = open_lesson(campus, "5a", {"hr-01": "s1"}, "t1")
    assert first.status_code == 201, first.text
    r = campus.client.post(
        "/api/lessons",
        headers={**campus.auth("t2"), "Accept-Language": "zh-CN"},
        json={"class_id": "5b", "assignments": {"hr-01": "s9"}},
    )
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    lesson_id = first.json()["id"]
    assert detail.startswith(f"设备 'hr-01' 已分配给正在进行的课程 '{lesson_id}'")
    assert "请先结束那节课" in detail and "assigned" not in detail
