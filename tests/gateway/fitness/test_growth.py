"""Growth records: the year's result per item, totals, levels, gaps and changes, on a history."""

from __future__ import annotations

import shutil
import struct
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import count
from pathlib import Path

from gateway.fitness.growth import (
    GrowthRecord,
    GrowthYear,
    Screening,
    YearTotal,
    graduation,
    growth_record,
    without_health,
)
from gateway.fitness.growth_plots import growth_pdf, growth_png
from gateway.fitness.results import TestResult as Attempt
from gateway.fitness.school_year import school_year_of
from gateway.fitness.scoring import bmi_from, level_for, round_tenth, score_item
from gateway.fitness.standard import GRADE_GROUP, ItemId, Standard
from gateway.fitness.values import SPECS
from gateway.i18n import Catalogs
from gateway.roster import Student
from tests.services import missing

# Grade 5 in school year 2026 (from 1 September 2026): grade 2 in 2023, grade 3 in 2024.
STUDENT = Student("s1", "张三", "M", date(2016, 3, 1), "5a", "5")
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
_ids = count(1)


def _row(
    standard: Standard, grade: str, item: str, value: str, at: datetime, lesson: str
) -> Attempt:
    v = Decimal(value)
    score = bonus = None
    if item not in ("height_cm", "weight_kg"):
        scored = score_item(standard, item, grade, "male", v)  # type: ignore[arg-type]
        score, bonus = scored.score, scored.bonus
    return Attempt(
        id=next(_ids),
        lesson_id=lesson,
        student_id=STUDENT.id,
        item=item,
        value=v,
        unit=SPECS[item].unit,
        score=score,
        bonus=bonus,
        source="staff",
        device_id=None,
        seq=None,
        entered_by="t1",
        measured_at=at,
        recorded_at=at,
    )


def _year(
    standard: Standard, grade: str, at: datetime, lesson: str, values: dict[str, str]
) -> list[Attempt]:
    return [_row(standard, grade, item, value, at, lesson) for item, value in values.items()]


def _history(standard: Standard) -> list[Attempt]:
    y23 = datetime(2023, 10, 10, 1, 0, tzinfo=UTC)
    y24 = datetime(2024, 10, 15, 1, 0, tzinfo=UTC)
    makeup = datetime(2025, 5, 20, 1, 0, tzinfo=UTC)  # still school year 2024
    y26 = datetime(2026, 10, 12, 1, 0, tzinfo=UTC)
    rows = _year(
        standard,
        "2",
        y23,
        "t23",
        {
            "height_cm": "125",
            "weight_kg": "25",
            "vital_capacity": "1200",
            "run_50m": "11.0",
            "sit_and_reach": "10",
            "rope_skip_1min": "90",
        },
    )
    rows += _year(
        standard,
        "3",
        y24,
        "t24",
        {
            "height_cm": "131",
            "weight_kg": "28",
            "vital_capacity": "1500",
            "run_50m": "10.2",
            "sit_and_reach": "8",
            "rope_skip_1min": "20",  # failed; re-tested below in the same session
            "sit_up_1min": "30",
        },
    )
    rows.append(_row(standard, "3", "rope_skip_1min", "30", y24.replace(hour=2), "t24"))
    # The make-up session (补测) of the same school year: the better result counts.
    rows.append(_row(standard, "3", "rope_skip_1min", "110", makeup, "m24"))
    rows.append(_row(standard, "3", "run_50m", "10.8", makeup, "m24"))  # worse: not counted
    rows += _year(
        standard,
        "5",
        y26,
        "t26",
        {
            "height_cm": "143",
            "weight_kg": "34",
            "vital_capacity": "2000",
            "run_50m": "9.0",
            "sit_and_reach": "12",
            "rope_skip_1min": "130",
            "sit_up_1min": "40",
            "shuttle_50x8": "110",
        },
    )
    return rows


def _expected_total(
    standard: Standard, grade: str, values: dict[ItemId, str], bmi: Decimal
) -> Decimal:
    weights = standard.weights[(GRADE_GROUP[grade], "male")]
    scores: dict[ItemId, int] = {
        item: score_item(standard, item, grade, "male", Decimal(v)).score
        for item, v in values.items()
    }
    scores["bmi"] = score_item(standard, "bmi", grade, "male", bmi).score
    assert set(scores) == set(weights)
    return round_tenth(Decimal(sum(scores[i] * weights[i] for i in weights)) / 100)


def _record(standard: Standard) -> GrowthRecord:
    screenings = [
        Screening(datetime(2023, 9, 20, tzinfo=UTC), 5.0, 4.9, -0.25, -0.5),
        Screening(datetime(2026, 9, 20, tzinfo=UTC), 4.8, 4.7, -1.0, -1.25),
        Screening(datetime(2026, 3, 1, tzinfo=UTC), 4.9, 4.9, -0.5, -0.5),  # school year 2025
    ]
    return growth_record(standard, STUDENT, _history(standard), screenings, NOW)


def test_school_years_start_in_september_china_time() -> None:
    assert school_year_of(datetime(2024, 8, 31, 15, 59, tzinfo=UTC)) == 2023
    assert school_year_of(datetime(2024, 8, 31, 16, 0, tzinfo=UTC)) == 2024  # 00:00 in Beijing


def test_each_years_counted_result_score_level_total_and_change(standard: Standard) -> None:
    record = _record(standard)
    assert [(y.year, y.grade, y.recorded) for y in record.years] == [
        (2023, "2", True),
        (2024, "3", True),
        (2025, "4", True),  # a vision screening only
        (2026, "5", True),
    ]
    y23, y24, y25, y26 = record.years

    # 2024: the latest attempt of a session, then the best of the year's sessions.
    rope = y24.items["rope_skip_1min"]
    assert (rope.value, rope.lesson_id, rope.sessions, rope.attempts) == (
        Decimal(110),
        "m24",
        2,
        3,
    )
    assert rope.score == score_item(standard, "rope_skip_1min", "3", "male", Decimal(110)).score
    assert rope.level == level_for(Decimal(rope.score or 0))
    assert y24.items["run_50m"].value == Decimal("10.2")
    assert rope.change_value == Decimal(20)
    assert rope.change_score == rope.score - (y23.items["rope_skip_1min"].score or 0)

    bmi23 = bmi_from(Decimal(125), Decimal(25))
    assert y23.items["bmi"].value == bmi23 and y23.items["bmi"].derived
    total23 = _expected_total(
        standard,
        "2",
        {
            "vital_capacity": "1200",
            "run_50m": "11.0",
            "sit_and_reach": "10",
            "rope_skip_1min": "90",
        },
        bmi23,
    )
    assert y23.total is not None and y23.total.total == total23
    assert y23.total.level == level_for(total23)
    assert y23.change_total is None  # nothing before

    total24 = _expected_total(
        standard,
        "3",
        {
            "vital_capacity": "1500",
            "run_50m": "10.2",
            "sit_and_reach": "8",
            "rope_skip_1min": "110",
            "sit_up_1min": "30",
        },
        bmi_from(Decimal(131), Decimal(28)),
    )
    assert y24.total is not None and y24.total.total == total24
    assert y24.change_total == total24 - total23
    assert y24.items["height_cm"].change_value == Decimal(6)
    assert y24.items["vital_capacity"].change_value == Decimal(300)

    # 2025: a gap in the tests, not zeros; its vision is the year's screening.
    assert y25.items == {} and y25.total is None and y25.missing == ()
    assert y25.vision is not None and y25.vision.acuity_left == 4.9

    # 2026 follows a gap: results and total, but no change against a year without them.
    assert y26.total is not None and y26.change_total is None
    assert y26.items["vital_capacity"].change_value is None
    assert y26.items["shuttle_50x8"].score is not None
    assert y26.vision is not None and y26.vision.acuity_left == 4.8


def test_a_year_short_of_an_item_has_no_total_and_says_what_is_missing(
    standard: Standard,
) -> None:
    rows = [r for r in _history(standard) if not (r.lesson_id == "t26" and r.item == "sit_up_1min")]
    record = growth_record(standard, STUDENT, rows, [], NOW)
    last = record.years[-1]
    assert last.year == 2026 and last.total is None and last.missing == ("sit_up_1min",)
    assert [y.year for y in record.years if not y.recorded] == [2025]
    assert growth_record(standard, STUDENT, [], [], NOW).years == ()


def test_the_report_is_one_pdf_page_and_a_png(standard: Standard, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        missing("poppler-utils (pdftoppm)")
    record = _record(standard)
    t = Catalogs().translator("zh_CN")
    pdf = tmp_path / "growth.pdf"
    pdf.write_bytes(growth_pdf(record, "张三 (s1)", t))
    subprocess.run(
        ["pdftoppm", "-r", "10", "-png", str(pdf), str(tmp_path / "page")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert len(list(tmp_path.glob("page-*.png"))) == 1
    png = growth_png(without_health(record), "s1", Catalogs().translator("en"))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk: an A4 portrait page
    assert height > width > 0


def _totalled(year: int, grade: str, total: str | None) -> GrowthYear:
    t = None if total is None else YearTotal(Decimal(total), 0, Decimal(total), "pass")
    return GrowthYear(year, grade, "recorded", (), total is not None, {}, (), t, None, None, ())


def test_graduation_is_half_the_final_year_and_half_the_mean_of_the_stages_others() -> None:
    years = (
        _totalled(2020, "5", "70.0"),  # primary: not of the junior stage
        _totalled(2021, "6", "72.0"),
        _totalled(2022, "7", "60.0"),
        _totalled(2023, "8", None),  # a gap: left out of the mean, listed
        _totalled(2024, "9", "81.0"),
    )
    g = graduation(GrowthRecord(STUDENT, years))
    assert g is not None
    # 81.0 / 2 + 60.0 / 2 = 70.5 (the gap is not a zero: that would give 55.5)
    assert (g.year, g.score, g.level, g.years, g.without_total) == (
        2024,
        Decimal("70.5"),
        "pass",
        (2022,),
        (2023,),
    )
    primary = graduation(GrowthRecord(STUDENT, years[:4]))  # the junior stage has no final yet
    assert primary is not None and (primary.year, primary.score) == (2021, Decimal("71.0"))
    assert graduation(GrowthRecord(STUDENT, (years[4],))) is None  # no other year to average
