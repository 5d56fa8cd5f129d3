"""Growth records over HTTP: who sees what (health data for health staff), audit, export, report."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from openpyxl import load_workbook

from gateway.auth import Role
from gateway.fitness.results import NewResult, ResultError
from gateway.fitness.school_year import school_year_of
from gateway.health.vision import Screening
from gateway.roster import LessonKind
from tests.gateway.api.conftest import SCHOOL, Campus, now


def _test_day(campus: Campus, at: datetime, values: dict[str, float]) -> None:
    gw = campus.gateway
    lesson = gw.roster.start_lesson("5a", "t1", LessonKind.FITNESS_TEST, {}, at=at)
    gw.roster.end_lesson(lesson.id, at + timedelta(hours=1))
    outcomes = gw.fitness_results.record(
        [
            NewResult(
                lesson.id, "s1", item, value, at + timedelta(minutes=5), "staff", None, None, "t1"
            )
            for item, value in values.items()
        ]
    )
    assert not any(isinstance(o, ResultError) for o in outcomes), outcomes


def test_growth_by_role_with_its_audit_export_and_report(campus: Campus) -> None:
    gw = campus.gateway
    # s1 is in grade 5 this school year: grade 4 last year, grade 3 the year before.
    year = school_year_of(now()) - 1
    this_year = datetime(year, 10, 10, 2, 0, tzinfo=UTC)
    last_year = datetime(year - 1, 10, 10, 2, 0, tzinfo=UTC)
    _test_day(campus, last_year, {"height_cm": 135, "weight_kg": 30, "sit_and_reach": 6})
    _test_day(campus, this_year, {"height_cm": 141, "weight_kg": 33, "sit_and_reach": 9.4})
    assert gw.referrals is not None
    gw.referrals.record(
        SCHOOL,
        "s1",
        "5a",
        this_year,
        "vs-1",
        7,
        Screening({"left": 4.8, "right": 4.9}, {"left": -0.5, "right": -0.25}),
        [],
    )
    url = "/api/fitness/students/s1/growth"

    nurse = campus.client.get(url, headers=campus.auth("h1"))
    assert nurse.status_code == 200, nurse.text
    body = nurse.json()
    assert body["name"] == "王小明" and body["health_data"] is True
    before, latest = body["years"][-2:]
    assert (before["year"], before["grade"], latest["year"], latest["grade"]) == (
        year - 1,
        "3",
        year,
        "4",
    )
    reach = latest["items"]["sit_and_reach"]
    assert reach["value"] == 9.4 and abs(reach["change_value"] - 3.4) < 1e-9
    assert latest["items"]["height_cm"]["change_value"] == 6
    assert latest["items"]["bmi"]["derived"] is True
    assert latest["vision"]["acuity_left"] == 4.8
    assert latest["total"] is None and "vital_capacity" in latest["missing"]

    teacher = campus.client.get(url, headers=campus.auth("t1")).json()
    assert teacher["health_data"] is False
    assert all(
        y["vision"] is None and not {"height_cm", "weight_kg", "bmi"} & set(y["items"])
        for y in teacher["years"]
    )
    assert teacher["years"][-1]["items"]["sit_and_reach"]["score"] == reach["score"]

    # Not the class's PE teacher, campus IT, another school's health staff: refused.
    assert campus.client.get(url, headers=campus.auth("t2")).status_code == 403
    assert campus.client.get(url, headers=campus.auth("it1")).status_code == 403
    campus.tokens["h2"] = gw.users.create("h2", "Nurse Two", Role.HEALTH_STAFF, schools=["sch2"])
    other = campus.client.get(url, headers=campus.auth("h2"))
    assert other.status_code == 404 and other.json() == {"detail": "no student 's1'"}

    reads = gw.audit.entries(subject_type="student_fitness", subject_id="s1")
    assert sorted((e.user_id, e.action) for e in reads) == [
        ("h1", "read_fitness_growth"),
        ("t1", "read_fitness_growth"),
    ]

    export = campus.client.get("/api/fitness/classes/5a/growth/export", headers=campus.auth("t1"))
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [r["student_id"] for r in rows] == ["s1", "s2", "s3"]
    assert rows[0][f"{year - 1}_grade"] == "3" and rows[0][f"{year}_total"] == ""
    assert rows[1][f"{year}_grade"] == ""  # s2 has no record at all
    book = campus.client.get(
        "/api/fitness/classes/5a/growth/export",
        params={"format": "xlsx"},
        headers={**campus.auth("h1"), "Accept-Language": "zh-CN"},
    )
    header = [c.value for c in next(load_workbook(io.BytesIO(book.content)).active.iter_rows())]
    assert header[:3] == ["学号", "姓名", "性别"] and f"{year}-{year + 1}学年总分" in header

    pdf = campus.client.get(f"{url}/report", headers=campus.auth("h1"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
