"""Live lesson data and heart-rate analytics through the HTTP API, with known answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from campusedge.topics import DeviceKind
from gateway.api.app import create_app
from gateway.roster import Lesson, LessonKind
from tests.gateway.api.conftest import Campus, build_campus, now, reading, rope_result

START = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def hr(device: str, seq: int, at: datetime, bpm: float) -> Any:
    return reading(device, seq, at, "heart_rate", bpm, "bpm")


def known_lesson(campus: Campus) -> Lesson:
    """s1 (11 years old on the day: HRmax 208 − 7.7 = 200.3) and s2 (14: HRmax 198.2).

    s1: every 5 s from 0 to 200 s, 150 bpm until 95 s then 100 bpm; one lone sample at 300 s
    (a 100 s gap: no data). Attributed: 100 s at 150 (74.9 % HRmax, moderate), 100 s at 100
    (49.9 %, very light) → density 50 %, mean 125 bpm.
    s2: every 5 s from 0 to 300 s at 170 bpm (85.8 %, vigorous) → 300 s, density 100 %.
    s3 wears a band that sends nothing. Group density (50 + 100) / 2 = 75 % (meets ≥ 75 %);
    class mean (125·200 + 170·300) / 500 = 152 bpm (within 140–160).
    """
    roster = campus.gateway.roster
    lesson = roster.start_lesson(
        "5a", "t1", LessonKind.LESSON, {"hr-1": "s1", "hr-2": "s2", "hr-3": "s3"}, at=START
    )
    roster.end_lesson(lesson.id, at=START + timedelta(minutes=10))
    messages = [
        hr("hr-1", i, START + timedelta(seconds=5 * i), 150 if i < 20 else 100) for i in range(41)
    ]
    messages.append(hr("hr-1", 99, START + timedelta(seconds=300), 150))
    messages += [hr("hr-2", i, START + timedelta(seconds=5 * i), 170) for i in range(61)]
    # outside the lesson: must not count
    messages.append(hr("hr-2", 500, START + timedelta(minutes=11), 60))
    campus.gateway.store.write(messages)
    ended = roster.lesson(lesson.id)
    assert ended is not None
    return ended


def analytics(campus: Campus, lesson_id: str, user: str = "t1", query: str = "") -> Any:
    r = campus.client.get(f"/api/lessons/{lesson_id}/heart-rate{query}", headers=campus.auth(user))
    assert r.status_code == 200, r.text
    return r.json()


def test_heart_rate_analytics_known_answers(campus: Campus) -> None:
    lesson = known_lesson(campus)
    body = analytics(campus, lesson.id)
    students = {s["student_id"]: s for s in body["students"]}
    s1, s2, s3 = students["s1"], students["s2"], students["s3"]
    assert (s1["age"], s1["hr_max_bpm"], s1["threshold_bpm"]) == (11, 200.3, 128.2)
    assert s1["measured_s"] == 200 and s1["at_or_above_s"] == 100
    assert s1["density_pct"] == 50 and s1["density_ok"] is True  # individual ≥ 50 %
    assert s1["mean_bpm"] == 125 and s1["peak_bpm"] == 150
    assert s1["zone_s"] == {
        "very_light": 100,
        "light": 0,
        "moderate": 100,
        "vigorous": 0,
        "near_maximal": 0,
    }
    assert (s2["age"], s2["hr_max_bpm"], s2["measured_s"], s2["density_pct"]) == (
        14,
        198.2,
        300,
        100,
    )
    assert s2["zone_s"]["vigorous"] == 300 and s2["mean_bpm"] == 170
    assert s3["measured_s"] == 0 and s3["density_pct"] is None and s3["density_ok"] is None
    assert body["group"] == {
        "students_measured": 2,
        "density_pct": 75,
        "density_ok": True,
        "mean_bpm": 152,
        "mean_ok": True,
    }
    assert body["moderate_pct"] == 64 and body["guidance"] == {
        "group_density_min_pct": 75,
        "individual_density_min_pct": 50,
        "mean_hr_bpm": [140, 160],
    }
    assert s1["name"] == "王小明"


def test_the_moderate_threshold_is_configurable(campus: Campus) -> None:
    lesson = known_lesson(campus)
    # 80 % HRmax: s1's 150 bpm (74.9 %) no longer counts, s2's 170 (85.8 %) does.
    body = analytics(campus, lesson.id, query="?moderate_pct=80")
    students = {s["student_id"]: s for s in body["students"]}
    assert students["s1"]["density_pct"] == 0 and students["s2"]["density_pct"] == 100
    assert body["group"]["density_pct"] == 50 and body["group"]["density_ok"] is False
    assert (
        campus.client.get(
            f"/api/lessons/{lesson.id}/heart-rate?moderate_pct=120", headers=campus.auth("t1")
        ).status_code
        == 422
    )


def test_gateway_settings_set_the_default_threshold(tmp_path: Path) -> None:
    from gateway.lessons.heart_rate import HeartRateSettings
    from tests.gateway.api.conftest import populate

    gateway = build_campus(tmp_path)
    gateway.settings.heart_rate = HeartRateSettings(moderate_pct=80)
    tokens = populate(gateway)
    with TestClient(create_app(gateway)) as client:
        campus = Campus(gateway, client, tokens)
        body = analytics(campus, known_lesson(campus).id)
    assert body["moderate_pct"] == 80 and body["group"]["density_pct"] == 50


def test_analytics_reads_are_audited_per_student(campus: Campus) -> None:
    lesson = known_lesson(campus)
    analytics(campus, lesson.id, user="h1")
    entries = campus.gateway.audit.entries(user_id="h1")
    assert sorted(e.subject_id for e in entries) == ["s1", "s2"]  # s3 has no heart rate
    assert {(e.action, e.subject_type, e.detail) for e in entries} == {
        ("read_heart_rate_analytics", "student_heart_rate", f"lesson={lesson.id}")
    }


def open_lesson(campus: Campus, teacher: str = "t1") -> str:
    r = campus.client.post(
        "/api/lessons",
        headers=campus.auth(teacher),
        json={"class_id": "5a", "assignments": {"hr-1": "s1", "rope-1": "s1", "hr-2": "s2"}},
    )
    assert r.status_code == 201, r.text
    lesson_id: str = r.json()["id"]
    return lesson_id


def live(campus: Campus, lesson_id: str, user: str = "t1") -> dict[str, Any]:
    r = campus.client.get(f"/api/lessons/{lesson_id}/live", headers=campus.auth(user))
    assert r.status_code == 200, r.text
    return {s["student_id"]: s for s in r.json()["students"]}


def test_live_view_from_the_listener(campus: Campus) -> None:
    lesson_id = open_lesson(campus)
    t = now()
    campus.feed(
        hr("hr-1", 1, t, 120),
        hr("hr-1", 2, t + timedelta(seconds=1), 150),
        reading("rope-1", 1, t, "rope_count", 42, "count", DeviceKind.JUMP_ROPE),
        hr("hr-9", 1, t, 99),
    )  # unassigned band: ignored
    campus.feed(hr("hr-1", 1, t, 120))  # a late redelivery must not go back in time
    shown = live(campus, lesson_id)
    s1 = shown["s1"]
    assert s1["heart_rate"]["value"] == 150 and s1["heart_rate"]["device_id"] == "hr-1"
    # s1 was born 2015-03-01: HRmax = 208 − 0.7 × age today (200.3 at 11: 150 bpm = 74.9 %)
    student = campus.gateway.roster.student("s1")
    assert student is not None
    pct = round(100 * 150 / (208 - 0.7 * student.age_on(datetime.now(UTC).date())), 1)
    assert s1["heart_rate"]["zone"] == "moderate" and s1["heart_rate"]["pct_hr_max"] == pct
    assert s1["rope_count"]["value"] == 42 and s1["rep_count"] is None
    assert sorted(s1["device_ids"]) == ["hr-1", "rope-1"] and s1["name"] == "王小明"
    assert shown["s2"]["heart_rate"] is None
    assert "s3" not in shown


def test_live_view_says_when_it_answered_so_ages_need_no_browser_clock(campus: Campus) -> None:
    lesson_id = campus.gateway.roster.start_lesson(
        "5a", "t1", LessonKind.LESSON, {"hr-1": "s1"}, at=now() - timedelta(minutes=5)
    ).id
    t = now() - timedelta(seconds=30)  # a band that stopped sending half a minute ago
    campus.feed(hr("hr-1", 1, t, 120))
    before = now()
    r = campus.client.get(f"/api/lessons/{lesson_id}/live", headers=campus.auth("t1"))
    after = now()
    body = r.json()
    as_of = datetime.fromisoformat(body["as_of"])
    assert before <= as_of <= after
    [s1] = [s for s in body["students"] if s["student_id"] == "s1"]
    age = (as_of - datetime.fromisoformat(s1["heart_rate"]["ts"])).total_seconds()
    assert 30 <= age < 40


def test_live_view_is_rebuilt_from_the_store_after_a_restart(tmp_path: Path) -> None:
    from tests.gateway.api.conftest import populate

    gateway = build_campus(tmp_path)
    tokens = populate(gateway)
    with TestClient(create_app(gateway)) as client:
        campus = Campus(gateway, client, tokens)
        lesson_id = open_lesson(campus)
        t = now()
        campus.feed(
            hr("hr-1", 1, t, 120),
            hr("hr-1", 2, t + timedelta(seconds=1), 165),
            rope_result("rope-1", 1, t, 88),
        )
        before = live(campus, lesson_id)
    gateway.store.close()
    restarted = build_campus(tmp_path)  # same files, empty memory
    assert restarted.live_lessons.lessons() == []
    with TestClient(create_app(restarted)) as client:
        after = live(Campus(restarted, client, tokens), lesson_id)
    assert after["s1"]["heart_rate"] == before["s1"]["heart_rate"]
    assert after["s1"]["heart_rate"]["value"] == 165
    assert after["s1"]["rope_count"]["value"] == 88 == before["s1"]["rope_count"]["value"]


def test_live_reads_are_audited_once_per_student_and_interval(campus: Campus) -> None:
    lesson_id = open_lesson(campus)
    campus.feed(hr("hr-1", 1, now(), 130), hr("hr-2", 1, now(), 140))
    for _ in range(3):
        live(campus, lesson_id)
    entries = campus.gateway.audit.entries(user_id="t1")
    assert sorted(e.subject_id for e in entries) == ["s1", "s2"]
    assert {e.action for e in entries} == {"read_live_heart_rate"}


@pytest.mark.parametrize("path", ["live", "heart-rate"])
def test_lesson_roles(campus: Campus, path: str) -> None:
    lesson_id = open_lesson(campus)
    url = f"/api/lessons/{lesson_id}/{path}"
    assert campus.client.get(url).status_code == 401
    assert campus.client.get(url, headers=campus.auth("it1")).status_code == 403
    assert campus.client.get(url, headers=campus.auth("t2")).status_code == 403
    assert campus.client.get(url, headers=campus.auth("h1")).status_code == 200
    assert campus.client.get(url, headers=campus.auth("t1")).status_code == 200
    assert (
        campus.client.get("/api/lessons/nope/" + path, headers=campus.auth("t1")).status_code == 404
    )


def test_a_substitute_sees_their_lesson_without_names(campus: Campus) -> None:
    lesson_id = open_lesson(campus, teacher="t2")
    campus.feed(hr("hr-1", 1, now(), 130))
    shown = live(campus, lesson_id, user="t2")
    assert shown["s1"]["heart_rate"]["value"] == 130 and shown["s1"]["name"] is None
    assert live(campus, lesson_id, user="t1")["s1"]["name"] == "王小明"


def test_analytics_figures_are_rounded_to_one_decimal(campus: Campus) -> None:
    """Uneven sample spacing gives figures like 76.16989244694524 %; shown to a tenth."""
    roster = campus.gateway.roster
    lesson = roster.start_lesson("5a", "t1", LessonKind.LESSON, {"hr-1": "s1"}, at=START)
    roster.end_lesson(lesson.id, at=START + timedelta(minutes=10))
    offsets = [0, 3, 10, 17, 23, 31, 37, 44]
    bpms = [131, 137, 149, 152, 133, 121, 158, 127]
    campus.gateway.store.write(
        [
            hr("hr-1", i, START + timedelta(seconds=s), b)
            for i, (s, b) in enumerate(zip(offsets, bpms, strict=True))
        ]
    )
    body = analytics(campus, lesson.id, query="?moderate_pct=66.7")
    s1 = body["students"][0]
    shown = [
        s1["hr_max_bpm"],
        s1["threshold_bpm"],
        s1["measured_s"],
        s1["at_or_above_s"],
        s1["density_pct"],
        s1["mean_bpm"],
        *s1["zone_s"].values(),
        body["group"]["density_pct"],
        body["group"]["mean_bpm"],
    ]
    assert all(x == round(x, 1) for x in shown), shown
    # The exact figures (the same analysis, unrounded) are not round, so the check above
    # has something to catch, and the shown ones are them to a tenth.
    from gateway.lessons.heart_rate import student_heart_rate

    student = roster.student("s1")
    assert student is not None
    exact = student_heart_rate(
        [(START + timedelta(seconds=s), float(b)) for s, b in zip(offsets, bpms, strict=True)],
        student.age_on(START.date()),
        campus.gateway.settings.heart_rate,
        66.7,
    )
    assert exact.density_pct is not None and exact.mean_bpm is not None
    assert exact.mean_bpm != round(exact.mean_bpm, 1)
    assert exact.density_pct != round(exact.density_pct, 1)
    assert s1["mean_bpm"] == round(exact.mean_bpm, 1)
    assert s1["density_pct"] == round(exact.density_pct, 1)
