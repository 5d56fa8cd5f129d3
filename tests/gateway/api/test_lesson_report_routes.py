"""The lesson report through the HTTP API: figures from stored readings, PNG and a PDF rendered
back with poppler, names only for who may see them, other schools and roles refused."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from gateway.auth import Role
from gateway.roster import LessonKind
from tests.gateway.api.conftest import Campus
from tests.gateway.api.test_lessons_routes import START, known_lesson
from tests.services import missing

PNG = b"\x89PNG\r\n\x1a\n"


def report(campus: Campus, lesson_id: str, user: str = "t1", query: str = "") -> Any:
    r = campus.client.get(f"/api/lessons/{lesson_id}/report{query}", headers=campus.auth(user))
    assert r.status_code == 200, r.text
    return r.json()


def test_report_of_stored_readings_with_known_answers(campus: Campus) -> None:
    """known_lesson: s1 150 bpm to 100 s then 100 bpm to 200 s, s2 170 bpm 0–300 s, s3
    nothing. Whole lesson: density (50 + 100) / 2 = 75 %, mean 152 bpm; s1's mean 125 is
    below 140–160 and s2's 170 above. Minute 0: s1 150, s2 170: mean 160, 10th percentile
    150 + 0.1·20 = 152, 90th 168."""
    lesson = known_lesson(campus)
    body = report(campus, lesson.id)
    assert body["group"] == {
        "students_measured": 2,
        "density_pct": 75,
        "density_ok": True,
        "mean_bpm": 152,
        "mean_ok": True,
    }
    assert (body["stayed_below"], body["stayed_above"]) == (["s1"], ["s2"])
    assert body["curve"][0] == {
        "minute": 0,
        "students": 2,
        "mean_bpm": 160,
        "p10_bpm": 152,
        "p90_bpm": 168,
    }
    assert len(body["curve"]) == 10 and body["curve"][9]["students"] == 0
    students = {s["student_id"]: s for s in body["students"]}
    assert students["s1"]["name"] == "王小明" and students["s1"]["target"] == "below"
    assert students["s1"]["zone_pct"]["very_light"] == 50
    assert students["s3"]["target"] is None and students["s3"]["zone_pct"] is None
    assert body["targets"]["mean_hr_bpm"] == [140, 160]

    # Main part minutes 2–5 (120–300 s): s1 80 s at 100 bpm (density 0), s2 180 s at 170:
    # density (0 + 100) / 2 = 50 %, mean (100·80 + 170·180) / 260 = 148.5 bpm.
    main = report(campus, lesson.id, query="?main_start_min=2&main_end_min=5")
    assert main["main_since"].startswith("2026-09-01T08:02")
    assert main["group"]["density_pct"] == 50 and main["group"]["density_ok"] is False
    assert main["group"]["mean_bpm"] == 148.5
    # The report's reads are audited per student measured.
    entries = campus.gateway.audit.entries(user_id="t1")
    assert {e.subject_id for e in entries if e.action == "read_lesson_report"} == {"s1", "s2"}


def test_a_main_part_outside_the_lesson_is_a_clear_422(campus: Campus) -> None:
    lesson = known_lesson(campus)
    r = campus.client.get(
        f"/api/lessons/{lesson.id}/report?main_start_min=5&main_end_min=30",
        headers=campus.auth("t1"),
    )
    assert r.status_code == 422 and "main part" in r.json()["detail"]
    for query in ("?moderate_pct=0", "?main_start_min=-1", "?main_end_min=0"):
        r = campus.client.get(f"/api/lessons/{lesson.id}/report{query}", headers=campus.auth("t1"))
        assert r.status_code == 422, query


def _pdf_pages_and_text(pdf: bytes, tmp_path: Path) -> tuple[int, str]:
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        missing("poppler-utils (pdftoppm, pdftotext)")
    tmp_path.mkdir()
    source = tmp_path / "report.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "20", "-png", str(source), str(tmp_path / "page")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert all(p.read_bytes().startswith(PNG) for p in pages)
    text = subprocess.run(
        ["pdftotext", str(source), "-"], check=True, capture_output=True, timeout=60, text=True
    ).stdout
    return len(pages), text


def test_pdf_renders_to_pages_in_chinese_with_names_only_for_the_class_teacher(
    campus: Campus, tmp_path: Path
) -> None:
    lesson = known_lesson(campus)
    del campus.client.headers["Accept-Language"]  # the fixture's English: the default here
    r = campus.client.get(f"/api/lessons/{lesson.id}/report.pdf", headers=campus.auth("t1"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-language"] == "zh-CN"
    pages, text = _pdf_pages_and_text(r.content, tmp_path / "teacher")
    # The summary and curve, then one page of zone shares for three students.
    assert pages == 2
    assert "体育课心率报告" in text and "王小明" in text and "群体运动密度" in text

    # A substitute who opened a lesson of 5a sees student ids only, in the PDF as in JSON.
    roster = campus.gateway.roster
    covered = roster.start_lesson(
        "5a", "t2", LessonKind.LESSON, {"hr-7": "s1"}, at=START + timedelta(hours=1)
    )
    roster.end_lesson(covered.id, at=START + timedelta(hours=1, minutes=5))
    body = report(campus, covered.id, user="t2")
    assert [(s["student_id"], s["name"]) for s in body["students"]] == [("s1", None)]
    r = campus.client.get(
        f"/api/lessons/{covered.id}/report.pdf",
        headers={**campus.auth("t2"), "Accept-Language": "en"},
    )
    assert r.headers["content-language"] == "en"
    pages, text = _pdf_pages_and_text(r.content, tmp_path / "substitute")
    assert pages == 2 and "PE lesson heart-rate report" in text
    assert "s1" in text and "王小明" not in text


def test_plots_are_png(campus: Campus) -> None:
    lesson = known_lesson(campus)
    for plot in ("curve", "zones"):
        r = campus.client.get(
            f"/api/lessons/{lesson.id}/report/{plot}.png", headers=campus.auth("h1")
        )
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert r.content.startswith(PNG) and len(r.content) > 5000


def test_other_schools_and_roles_without_access_are_refused(campus: Campus) -> None:
    lesson = known_lesson(campus)
    campus.tokens["h2"] = campus.gateway.users.create(
        "h2", "Nurse Two", Role.HEALTH_STAFF, schools=["sch2"]
    )
    campus.gateway.roster.add_class("9a", "sch2", "Class 9A", "5", "t9")
    campus.gateway.roster.add_student("s90", "孙九十", "F", date(2015, 2, 2), "9a")
    for path in ("report", "report.pdf", "report/curve.png", "report/zones.png"):
        url = f"/api/lessons/{lesson.id}/{path}"
        # Another school's lesson is answered as an unknown one.
        assert campus.client.get(url, headers=campus.auth("h2")).status_code == 404
        # Campus IT and auditors read no student heart rate.
        assert campus.client.get(url, headers=campus.auth("it1")).status_code == 403
        assert campus.client.get(url, headers=campus.auth("au1")).status_code == 403
        # Not the class's teacher, nor the one who opened it.
        assert campus.client.get(url, headers=campus.auth("t2")).status_code == 403
    assert not [e for e in campus.gateway.audit.entries() if e.action == "read_lesson_report"]
