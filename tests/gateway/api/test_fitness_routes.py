"""Fitness results through the HTTP API: binding, scoring, re-tests, redelivery, roles, export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from openpyxl import load_workbook

from campusedge.topics import DeviceKind
from gateway.fitness.headers import column_id
from gateway.roster import Lesson, LessonKind
from tests.gateway.api.conftest import Campus, event, now, rope_result


def session(
    campus: Campus,
    teacher: str = "t1",
    class_id: str = "5a",
    assignments: dict[str, str] | None = None,
    kind: LessonKind = LessonKind.FITNESS_TEST,
) -> Lesson:
    at = now() - timedelta(minutes=30)
    return campus.gateway.roster.start_lesson(class_id, teacher, kind, assignments or {}, at=at)


def results(campus: Campus, lesson_id: str, user: str = "t1") -> dict[str, Any]:
    r = campus.client.get(f"/api/fitness/sessions/{lesson_id}/results", headers=campus.auth(user))
    assert r.status_code == 200, r.text
    return {s["student_id"]: s for s in r.json()["students"]}


def post(campus: Campus, lesson_id: str, body: dict[str, Any], user: str = "t1") -> Any:
    return campus.client.post(
        f"/api/fitness/sessions/{lesson_id}/results", json=body, headers=campus.auth(user)
    )


# Grade 5 male, by the 2014 tables: rope 148 = 100 points, +1 bonus per 2 skips over.
FULL_S1 = {
    "height_cm": 140,
    "weight_kg": 35,
    "vital_capacity": 2200,
    "run_50m": 9.6,
    "sit_and_reach": 9.4,
    "rope_skip_1min": 158,
    "sit_up_1min": 30,
    "shuttle_50x8": 120,
}


def test_device_result_is_bound_scored_and_shown(campus: Campus) -> None:
    lesson = session(campus, assignments={"rope-1": "s1", "rope-2": "s2"})
    campus.feed(rope_result("rope-1", 1, now() - timedelta(minutes=5), 150))
    s1 = results(campus, lesson.id)["s1"]
    rope = s1["items"]["rope_skip_1min"]
    assert (rope["value"], rope["score"], rope["bonus"], rope["level"]) == (
        150,
        100,
        1,
        "excellent",
    )
    assert rope["attempts"] == 1 and s1["name"] == "王小明"
    assert "rope_skip_1min" not in s1["missing"] and s1["total"] is None
    history = campus.client.get(
        "/api/fitness/students/s1/results", headers=campus.auth("t1")
    ).json()
    [attempt] = history["attempts"]
    assert (attempt["source"], attempt["device_id"], attempt["seq"]) == ("device", "rope-1", 1)
    assert campus.metric("campusedge_fitness_device_results_total", outcome="accepted") == 1


def test_events_of_unbound_devices_and_practice_are_counted_not_recorded(campus: Campus) -> None:
    lesson = session(campus, assignments={"rope-1": "s1"})
    practice = session(campus, class_id="5a", assignments={"rope-7": "s3"}, kind=LessonKind.LESSON)
    t = now() - timedelta(minutes=1)
    campus.feed(
        rope_result("rope-9", 1, t, 120),  # nobody wears rope-9
        rope_result("rope-1", 2, t - timedelta(hours=2), 120),  # before the session
        rope_result("rope-1", 3, t, 120, mode="free"),  # free skipping
        rope_result("rope-7", 1, t, 120),
    )  # an ordinary lesson
    assert campus.metric("campusedge_fitness_device_results_total", outcome="unbound") == 2
    assert campus.metric("campusedge_fitness_device_results_total", outcome="not_a_test_item") == 1
    assert campus.metric("campusedge_fitness_device_results_total", outcome="not_test_session") == 1
    assert campus.gateway.fitness_results.rows() == []
    assert all(not s["items"] for s in results(campus, lesson.id).values())
    assert practice.kind is LessonKind.LESSON


def test_retests_are_history_and_the_latest_measurement_is_current(campus: Campus) -> None:
    lesson = session(campus, assignments={"rope-1": "s1"})
    t = now() - timedelta(minutes=10)
    campus.feed(rope_result("rope-1", 1, t, 100))
    campus.feed(rope_result("rope-1", 2, t + timedelta(minutes=2), 140))
    # A result measured earlier but delivered late (store-and-forward) is history, not current.
    campus.feed(rope_result("rope-1", 3, t - timedelta(minutes=1), 60))
    rope = results(campus, lesson.id)["s1"]["items"]["rope_skip_1min"]
    assert (rope["value"], rope["attempts"]) == (140, 3)
    history = campus.client.get(
        "/api/fitness/students/s1/results", headers=campus.auth("t1")
    ).json()["attempts"]
    assert [(a["value"], a["current"]) for a in history] == [(140, True), (100, False), (60, False)]


def test_redelivered_results_are_stored_once(campus: Campus) -> None:
    lesson = session(campus, assignments={"rope-1": "s1"})
    message = rope_result("rope-1", 5, now() - timedelta(minutes=3), 130)
    campus.feed(message, message)  # twice in one batch, as a redelivery can be
    campus.feed(message)  # and again after a "crash"
    assert len(campus.gateway.fitness_results.rows()) == 1
    assert results(campus, lesson.id)["s1"]["items"]["rope_skip_1min"]["attempts"] == 1


def test_camera_and_timing_device_results_map_to_items(campus: Campus) -> None:
    lesson = session(campus, assignments={"cam-1": "s1", "timer-1": "s2", "cam-2": "s2"})
    t = now() - timedelta(minutes=2)
    campus.feed(
        event(
            "cam-1",
            1,
            t,
            "pe_set",
            (("rep_count", 30.0, "count"), ("cadence", 30.0, "1/min")),
            kind=DeviceKind.PE_STATION,
            exercise="sit_up",
            duration_s=60,
        ),
        event(
            "timer-1",
            1,
            t,
            "run_time",
            (("run_time", 9.6, "s"),),
            kind=DeviceKind.PE_STATION,
            item="run_50m",
        ),
        # pull-ups are not a grade-5 item: refused (and counted), not stored.
        event(
            "cam-2",
            1,
            t,
            "pe_set",
            (("rep_count", 5.0, "count"),),
            kind=DeviceKind.PE_STATION,
            exercise="pull_up",
        ),
    )
    shown = results(campus, lesson.id)
    assert shown["s1"]["items"]["sit_up_1min"]["score"] == 72  # grade 5 male: 30 = 72
    assert shown["s2"]["items"]["run_50m"]["value"] == 9.6
    assert "pull_up" not in shown["s2"]["items"]
    assert campus.metric("campusedge_fitness_device_results_total", outcome="rejected") == 1


def test_staff_entries_complete_a_total(campus: Campus) -> None:
    lesson = session(campus)
    for item, value in FULL_S1.items():
        r = post(campus, lesson.id, {"student_id": "s1", "item": item, "value": value})
        assert r.status_code == 201, r.text
        assert r.json()["entered_by"] == "t1" and r.json()["source"] == "staff"
    s1 = results(campus, lesson.id)["s1"]
    bmi = s1["items"]["bmi"]
    assert (bmi["value"], bmi["score"], bmi["derived"]) == (17.9, 100, True)  # 35/1.4²
    assert bmi["level"] == "normal"
    # 15·100 + 15·80 + 20·72 + 10·80 + 10·100 + 20·72 + 10·72 = 8100 → 81.0, +5 bonus (158)
    assert s1["missing"] == []
    assert s1["total"] == {"standard_score": 81.0, "bonus": 5, "total": 86.0, "level": "good"}
    assert results(campus, lesson.id)["s2"]["total"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"student_id": "s1", "item": "vital_capacity", "value": 2.2}, "litres"),
        ({"student_id": "s1", "item": "pull_up", "value": 5}, "not a test item"),
        ({"student_id": "s9", "item": "run_50m", "value": 9.0}, "not in class"),
        ({"student_id": "s1", "item": "run_50m", "value": 9.0, "unit": "min"}, "wrong unit"),
        ({"student_id": "s1", "item": "run_50m", "value": "9.6s"}, "not a plain number"),
        ({"student_id": "s1", "item": "long_jump", "value": 150}, "unknown item"),
        ({"student_id": "s1", "item": "rope_skip_1min", "value": 120.5}, "whole number"),
    ],
)
def test_staff_entries_are_checked(campus: Campus, body: dict[str, Any], field: str) -> None:
    lesson = session(campus)
    r = post(campus, lesson.id, body)
    assert r.status_code == 422 and field in r.json()["detail"], r.text
    assert campus.gateway.fitness_results.rows() == []


def test_results_go_to_test_sessions_only(campus: Campus) -> None:
    lesson = session(campus, kind=LessonKind.LESSON)
    r = post(campus, lesson.id, {"student_id": "s1", "item": "run_50m", "value": 9.0})
    assert r.status_code == 422 and "not a fitness_test" in r.json()["detail"]


def test_roles(campus: Campus) -> None:
    lesson = session(campus, assignments={"rope-1": "s1"})
    campus.feed(rope_result("rope-1", 1, now() - timedelta(minutes=5), 150))
    reads = [
        f"/api/fitness/sessions/{lesson.id}/results",
        "/api/fitness/classes/5a/distribution",
        "/api/fitness/classes/5a/export?format=csv",
        "/api/fitness/students/s1/results",
    ]
    for url in reads:
        assert campus.client.get(url).status_code == 401
        assert campus.client.get(url, headers=campus.auth("it1")).status_code == 403, url
        assert campus.client.get(url, headers=campus.auth("t2")).status_code == 403, url
        assert campus.client.get(url, headers=campus.auth("h1")).status_code == 200, url
        assert campus.client.get(url, headers=campus.auth("t1")).status_code == 200, url
    body = {"student_id": "s1", "item": "run_50m", "value": 9.0}
    assert post(campus, lesson.id, body, user="h1").status_code == 403
    assert post(campus, lesson.id, body, user="it1").status_code == 403
    assert post(campus, lesson.id, body, user="t2").status_code == 403
    assert results(campus, lesson.id, user="h1")["s1"]["name"] == "王小明"


def test_a_substitute_runs_a_session_without_seeing_names(campus: Campus) -> None:
    lesson = session(campus, teacher="t2")  # t2 stands in for t1 in class 5a
    r = post(campus, lesson.id, {"student_id": "s1", "item": "run_50m", "value": "9.0"}, user="t2")
    assert r.status_code == 201, r.text
    shown = results(campus, lesson.id, user="t2")
    assert shown["s1"]["items"]["run_50m"]["score"] == 78 and shown["s1"]["name"] is None
    assert results(campus, lesson.id, user="t1")["s1"]["name"] == "王小明"
    # the class itself stays t1's
    assert (
        campus.client.get(
            "/api/fitness/classes/5a/distribution", headers=campus.auth("t2")
        ).status_code
        == 403
    )


def test_class_distribution_per_item_and_level(campus: Campus) -> None:
    first = session(campus)
    for student, value in (("s1", 150), ("s2", 50)):
        post(campus, first.id, {"student_id": student, "item": "rope_skip_1min", "value": value})
    later = session(campus)
    # a re-test in a later session replaces s2's result in the class view
    post(
        campus,
        later.id,
        {
            "student_id": "s2",
            "item": "rope_skip_1min",
            "value": 140,
            "measured_at": (now() + timedelta(minutes=1)).isoformat(),
        },
    )
    dist = campus.client.get(
        "/api/fitness/classes/5a/distribution", headers=campus.auth("t1")
    ).json()
    assert dist["students"] == 3 and dist["lesson_ids"] == [first.id, later.id]
    # grade 5: s1 (male) 150 = 100, excellent; s2 (female) 140 = 85, good; s3 untested
    assert dist["items"]["rope_skip_1min"] == {
        "excellent": 1,
        "good": 1,
        "pass": 0,
        "fail": 0,
        "untested": 1,
    }
    assert dist["items"]["total"]["untested"] == 3
    assert set(dist["items"]) == {
        "bmi",
        "vital_capacity",
        "run_50m",
        "sit_and_reach",
        "rope_skip_1min",
        "sit_up_1min",
        "shuttle_50x8",
        "total",
    }
    only_first = campus.client.get(
        f"/api/fitness/classes/5a/distribution?lesson_id={first.id}", headers=campus.auth("t1")
    ).json()
    # s2's 50 in the first session = 30 points, fail
    assert only_first["items"]["rope_skip_1min"]["fail"] == 1
    assert (
        campus.client.get(
            "/api/fitness/classes/5a/distribution?lesson_id=nope", headers=campus.auth("t1")
        ).status_code
        == 404
    )


def _export_rows(campus: Campus) -> None:
    lesson = session(campus)
    for item, value in FULL_S1.items():
        assert (
            post(campus, lesson.id, {"student_id": "s1", "item": item, "value": value}).status_code
            == 201
        )
    post(campus, lesson.id, {"student_id": "s2", "item": "run_50m", "value": "10.2"})


def test_export_csv(campus: Campus) -> None:
    _export_rows(campus)
    r = campus.client.get(
        "/api/fitness/classes/5a/export?format=csv",
        headers={**campus.auth("t1"), "Accept-Language": "en-US,en;q=0.9"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-language"] == "en"
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["student_id"] for row in rows] == ["s1", "s2", "s3"]
    s1 = rows[0]
    assert (s1["name"], s1["sex"], s1["height_cm"], s1["weight_kg"]) == ("王小明", "M", "140", "35")
    assert (s1["rope_skip_1min"], s1["rope_skip_1min_score"], s1["rope_skip_1min_bonus"]) == (
        "158",
        "100",
        "5",
    )
    assert (s1["bmi"], s1["bmi_score"]) == ("17.9", "100")
    assert (s1["standard_score"], s1["bonus"], s1["total"], s1["level"]) == (
        "81",
        "5",
        "86",
        "good",
    )
    assert (rows[1]["run_50m"], rows[1]["total"]) == ("10.2", "")
    assert rows[2]["run_50m"] == "" and rows[2]["level"] == ""


def test_export_xlsx(campus: Campus) -> None:
    _export_rows(campus)
    r = campus.client.get(
        "/api/fitness/classes/5a/export?format=xlsx",
        headers={**campus.auth("h1"), "Accept-Language": "en"},
    )
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet.title == "Class 5A"
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    header = values[0]
    s1 = dict(zip(header, values[1], strict=True))
    assert s1["name"] == "王小明" and s1["run_50m"] == 9.6 and s1["run_50m_score"] == 72
    assert (s1["total"], s1["level"]) == (86, "good")
    s2 = dict(zip(header, values[2], strict=True))
    assert s2["run_50m"] == 10.2 and s2["total"] is None
    assert len(values) == 4


def test_export_speaks_chinese_by_default(campus: Campus) -> None:
    _export_rows(campus)
    # No Accept-Language (or one we have no catalog for): the deployment's language, zh-CN.
    del campus.client.headers["Accept-Language"]  # the fixture's English
    for extra in ({}, {"Accept-Language": "fr-FR,de;q=0.8"}):
        r = campus.client.get(
            "/api/fitness/classes/5a/export?format=csv", headers={**campus.auth("t1"), **extra}
        )
        assert r.status_code == 200 and r.headers["content-language"] == "zh-CN"
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert [row["学号"] for row in rows] == ["s1", "s2", "s3"]
        s1 = rows[0]
        assert (s1["姓名"], s1["性别"], s1["身高"], s1["体重"]) == ("王小明", "男", "140", "35")
        assert (s1["1分钟跳绳"], s1["1分钟跳绳得分"], s1["1分钟跳绳附加分"]) == ("158", "100", "5")
        assert (s1["体重指数"], s1["体重指数得分"]) == ("17.9", "100")
        assert (s1["标准分"], s1["附加分"], s1["总分"], s1["等级"]) == ("81", "5", "86", "良好")
        assert rows[2]["50米跑"] == "" and rows[2]["等级"] == ""
    r = campus.client.get(
        "/api/fitness/classes/5a/export?format=xlsx",
        headers={**campus.auth("h1"), "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"},
    )
    values = [list(row) for row in load_workbook(io.BytesIO(r.content)).active.values]
    s1 = dict(zip(values[0], values[1], strict=True))
    assert (s1["50米跑"], s1["50米跑得分"], s1["等级"]) == (9.6, 72, "良好")
    # The item and student headers are the ones the fitness file import reads.
    assert {column_id(h) for h in values[0]} >= {"run_50m", "rope_skip_1min", "bmi", "id", "sex"}


def test_export_format_is_checked(campus: Campus) -> None:
    r = campus.client.get("/api/fitness/classes/5a/export?format=pdf", headers=campus.auth("t1"))
    assert r.status_code == 422


def test_measured_at_needs_an_offset(campus: Campus) -> None:
    lesson = session(campus)
    r = post(
        campus,
        lesson.id,
        {"student_id": "s1", "item": "run_50m", "value": 9.0, "measured_at": "2026-09-01T08:00:00"},
    )
    assert r.status_code == 422 and "UTC offset" in r.text


def test_reads_of_results_are_audited_per_student(campus: Campus) -> None:
    lesson = session(campus)
    for student in ("s1", "s2"):
        post(campus, lesson.id, {"student_id": student, "item": "weight_kg", "value": 35})
    assert campus.gateway.audit.entries(subject_type="student_fitness") == []  # writes aren't
    results(campus, lesson.id, user="h1")
    campus.client.get("/api/fitness/students/s1/results", headers=campus.auth("t1"))
    campus.client.get("/api/fitness/students/s3/results", headers=campus.auth("t1"))  # none
    campus.client.get("/api/fitness/classes/5a/export?format=xlsx", headers=campus.auth("t1"))
    campus.client.get("/api/fitness/classes/5a/distribution", headers=campus.auth("t1"))
    entries = campus.gateway.audit.entries(subject_type="student_fitness")
    # s3 has no results: nothing about them was shown; the distribution names nobody.
    assert sorted((e.user_id, e.action, e.subject_id, e.detail) for e in entries) == [
        ("h1", "read_fitness_results", "s1", f"lesson={lesson.id}"),
        ("h1", "read_fitness_results", "s2", f"lesson={lesson.id}"),
        ("t1", "export_fitness_results", "s1", "class=5a"),
        ("t1", "export_fitness_results", "s2", "class=5a"),
        ("t1", "read_fitness_history", "s1", "class=5a"),
    ]
    # a refused read records nothing
    campus.client.get(f"/api/fitness/sessions/{lesson.id}/results", headers=campus.auth("t2"))
    assert len(campus.gateway.audit.entries(subject_type="student_fitness")) == 5


def test_bmi_is_distributed_by_band(campus: Campus) -> None:
    lesson = session(campus)
    # grade 5 male: overweight 21.5-24.1, obese >= 24.2; female: low weight <= 13.7
    post(campus, lesson.id, {"student_id": "s1", "item": "bmi", "value": 22.0})
    post(campus, lesson.id, {"student_id": "s2", "item": "bmi", "value": 13.0})
    for item, value in (("height_cm", 140), ("weight_kg", 50)):  # 25.5: obese
        post(campus, lesson.id, {"student_id": "s3", "item": item, "value": value})
    shown = results(campus, lesson.id)
    assert [
        (shown[s]["items"]["bmi"]["score"], shown[s]["items"]["bmi"]["level"])
        for s in ("s1", "s2", "s3")
    ] == [(80, "overweight"), (80, "low_weight"), (60, "obese")]
    dist = campus.client.get(
        "/api/fitness/classes/5a/distribution", headers=campus.auth("t1")
    ).json()
    assert dist["items"]["bmi"] == {
        "normal": 0,
        "low_weight": 1,
        "overweight": 1,
        "obese": 1,
        "untested": 0,
    }


@pytest.mark.parametrize(
    "when,problem",
    [
        (lambda: "2030-01-01T08:00:00+00:00", "in the future"),
        (lambda: (now() + timedelta(minutes=20)).isoformat(), "in the future"),
        (lambda: (now() - timedelta(days=2)).isoformat(), "outside session"),
    ],
)
def test_measured_at_must_fall_within_the_session(campus: Campus, when: Any, problem: str) -> None:
    lesson = session(campus)
    r = post(
        campus,
        lesson.id,
        {"student_id": "s1", "item": "run_50m", "value": 9.0, "measured_at": when()},
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("measured_at:") and problem in r.json()["detail"]
    assert campus.gateway.fitness_results.rows(lesson_ids=[lesson.id]) == []


def test_measured_at_after_an_ended_session_is_refused(campus: Campus) -> None:
    lesson = session(campus)
    campus.gateway.roster.end_lesson(lesson.id, at=now() - timedelta(minutes=20))
    late = (now() - timedelta(minutes=5)).isoformat()
    r = post(
        campus,
        lesson.id,
        {"student_id": "s1", "item": "run_50m", "value": 9.0, "measured_at": late},
    )
    assert r.status_code == 422 and "outside session" in r.json()["detail"], r.text
    inside = (now() - timedelta(minutes=25)).isoformat()
    r = post(
        campus,
        lesson.id,
        {"student_id": "s1", "item": "run_50m", "value": 9.0, "measured_at": inside},
    )
    assert r.status_code == 201, r.text


def test_the_reply_says_whether_the_new_attempt_is_current(campus: Campus) -> None:
    lesson = session(campus)
    r = post(
        campus,
        lesson.id,
        {
            "student_id": "s1",
            "item": "run_50m",
            "value": 9.0,
            "measured_at": (now() - timedelta(minutes=5)).isoformat(),
        },
    )
    assert r.status_code == 201 and r.json()["current"] is True, r.text
    # Typed in afterwards but measured earlier: recorded, yet the 9.0 stays current.
    r = post(
        campus,
        lesson.id,
        {
            "student_id": "s1",
            "item": "run_50m",
            "value": 9.8,
            "measured_at": (now() - timedelta(minutes=20)).isoformat(),
        },
    )
    assert r.status_code == 201 and r.json()["current"] is False, r.text
    assert results(campus, lesson.id)["s1"]["items"]["run_50m"]["value"] == 9.0


def upload(campus: Campus, lesson_id: str, data: bytes, user: str = "t1") -> Any:
    return campus.client.post(
        f"/api/fitness/sessions/{lesson_id}/results/file",
        content=data,
        headers={**campus.auth(user), "Content-Type": "application/octet-stream"},
    )


def test_a_class_results_file_is_taken_whole_or_not_at_all(campus: Campus) -> None:
    from openpyxl import Workbook

    lesson = session(campus)
    # As Excel saves a CSV on Chinese Windows: GBK, the standard's item names as headers.
    bad = "学号,姓名,性别,1分钟跳绳,50米跑\ns1,王小明,男,158,9.6\ns3,张三,男,158,96\n"
    r = upload(campus, lesson.id, bad.encode("gbk"))
    assert r.status_code == 200, r.text
    assert r.json()["saved"] == 0
    [problem] = r.json()["errors"]
    assert (problem["row"], problem["column"], problem["student_id"]) == (3, "run_50m", "s3")
    assert "impossible value" in problem["error"]
    assert results(campus, lesson.id)["s1"]["items"] == {}  # nothing of the file was saved
    # In Chinese for a Chinese page, the item by the standard's name, as the cell's refusal.
    zh = campus.client.post(
        f"/api/fitness/sessions/{lesson.id}/results/file",
        content=bad.encode("gbk"),
        headers={**campus.auth("t1"), "Accept-Language": "zh-CN"},
    )
    assert zh.json()["errors"][0]["error"] == "50米跑的成绩 '96' 不可能：应在 5–30 s 之间"
    typed = campus.client.post(
        f"/api/fitness/sessions/{lesson.id}/results",
        json={"student_id": "s3", "item": "rope_skip_1min", "value": "1.5"},
        headers={**campus.auth("t1"), "Accept-Language": "zh-CN"},
    )
    assert typed.status_code == 422
    assert typed.json()["detail"] == "value：1分钟跳绳是计数项目，'1.5' 不是整数"
    good = bad.replace(",96\n", ",9.6\n")
    r = upload(campus, lesson.id, good.encode("gbk"))
    assert r.json() == {"saved": 4, "errors": []}
    rope = results(campus, lesson.id)["s3"]["items"]["rope_skip_1min"]
    assert (rope["value"], rope["score"]) == (158, 100)
    # A sheet with merged cells: the rows under the merge would be read blank or wrong.
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["学号", "一分钟跳绳"])
    sheet.append(["s1", 150])
    sheet.append(["s2", None])
    sheet.merge_cells("B2:B3")
    data = io.BytesIO()
    book.save(data)
    r = upload(campus, lesson.id, data.getvalue())
    assert r.status_code == 422 and "merged cells at B2:B3" in r.json()["detail"]
    twice = upload(campus, lesson.id, b"id,rope_skip_1min\ns1,150\ns1,160\n").json()
    assert twice["errors"] == [
        {"row": 3, "column": "id", "student_id": "s1", "error": "the same student as row 2"}
    ]
    no_id = upload(campus, lesson.id, "姓名,1分钟跳绳\n王小明,150\n".encode())
    assert no_id.status_code == 422 and "no id column" in no_id.json()["detail"]
    assert upload(campus, lesson.id, good.encode(), user="t2").status_code == 403


def test_a_results_file_of_mixed_encodings_or_merged_cells_is_refused_in_chinese(
    campus: Campus,
) -> None:
    from openpyxl import Workbook

    lesson = session(campus)
    zh = {**campus.auth("t1"), "Accept-Language": "zh-CN"}

    def refusal(data: bytes) -> str:
        r = campus.client.post(
            f"/api/fitness/sessions/{lesson.id}/results/file", content=data, headers=zh
        )
        assert r.status_code == 422, r.text
        return str(r.json()["detail"])

    saved = upload(campus, lesson.id, "学号,1分钟跳绳\ns1,150\n".encode())
    assert saved.json() == {"saved": 1, "errors": []}
    # A UTF-8 template (as downloaded) with a class's GBK rows pasted under it: GB18030 reads
    # the header too, as other characters, and would call it a file without an id column.
    pasted = "学号,姓名,1分钟跳绳\n".encode() + "s2,李小红,160\n".encode("gbk")
    assert refusal(pasted) == (
        "成绩文件无法读取：文件混用了不同的字符编码：第 1 行是 UTF-8，第 2 行不是（可能是 GBK）；"
        "请把整个文件用同一种编码重新保存"
    )
    # A GBK file with one UTF-8 row among them that GB18030 cannot read. (A UTF-8 row that
    # GB18030 reads too is read so: its ids and values are the same in both, its name is not
    # taken from the file.)
    among = "学号,姓名,性别,1分钟跳绳\n".encode("gbk") + "s3,张三,男,150\n".encode()
    assert "第 2 行是 UTF-8，第 1 行不是" in refusal(among)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["学号", "一分钟跳绳"])
    sheet.append(["s2", 150])
    sheet.append(["s3", None])
    sheet.merge_cells("B2:B3")
    data = io.BytesIO()
    book.save(data)
    assert refusal(data.getvalue()) == (
        "成绩文件无法读取：B2:B3 是合并单元格：请取消合并，使每一行都有自己的学生和成绩"
    )
    assert "没有学号列" in refusal("姓名,1分钟跳绳\n王小明,150\n".encode())
    # Nothing of the refused files was taken, and what was saved before is kept.
    items = results(campus, lesson.id)
    assert items["s1"]["items"]["rope_skip_1min"]["value"] == 150
    assert items["s2"]["items"] == {} and items["s3"]["items"] == {}
