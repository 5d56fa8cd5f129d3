"""A growth year's grade (recorded, or counted where nothing says it) and its items' norms."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import count

from gateway.fitness.growth import growth_record
from gateway.fitness.norms import norm_for
from gateway.fitness.results import TestResult as Attempt
from gateway.fitness.school_year import school_year_of
from gateway.fitness.scoring import score_item
from gateway.fitness.standard import Standard
from gateway.fitness.values import SPECS
from gateway.fitness.year_grade import year_grades
from gateway.roster import Student

# In grade 6 in school year 2026 (the roster's grade today).
PUPIL = Student("p1", "李四", "M", date(2015, 5, 1), "6b", "6")
NOW = datetime(2026, 10, 1, tzinfo=UTC)
_ids = count(1)


def _attempt(
    year: int,
    grade: str | None,
    class_id: str | None,
    item: str = "run_50m",
    value: str = "9.5",
    month: int = 10,
) -> Attempt:
    at = datetime(year if month >= 9 else year + 1, month, 10, 2, tzinfo=UTC)
    return Attempt(
        id=next(_ids),
        lesson_id=f"l{year}{month}",
        student_id=PUPIL.id,
        item=item,
        value=Decimal(value),
        unit=SPECS[item].unit,
        score=None,
        bonus=None,
        source="staff",
        device_id=None,
        seq=None,
        entered_by="t1",
        measured_at=at,
        recorded_at=at,
        grade=grade,
        class_id=class_id,
    )


def _by_year(*rows: Attempt) -> dict[int, list[Attempt]]:
    out: dict[int, list[Attempt]] = {}
    for r in rows:
        out.setdefault(school_year_of(r.measured_at), []).append(r)
    return out


def test_recorded_grades_win_a_repeat_is_kept_and_years_without_are_counted_from_the_next() -> None:
    # 2021 says nothing; 2022 and 2023 both record grade 3 (a repeated year); 2024 nothing;
    # 2025 records 5; 2026 is today's roster (6). Counting back from today alone would put
    # 2022 in grade 2 and 2021 in grade 1.
    rows = _by_year(
        _attempt(2021, None, "2b"),
        _attempt(2022, "3", "3b"),
        _attempt(2023, "3", "3c"),
        _attempt(2024, None, "4b"),
        _attempt(2025, "5", "5b"),
    )
    grades = year_grades(PUPIL, rows, range(2021, 2027), 2026)
    assert [(y, g.grade, g.source) for y, g in grades.items()] == [
        (2021, "2", "counted"),  # from 2022's recorded 3
        (2022, "3", "recorded"),
        (2023, "3", "recorded"),
        (2024, "4", "counted"),  # from 2025's recorded 5
        (2025, "5", "recorded"),
        (2026, "6", "roster"),
    ]
    assert grades[2023].notes == ("repeated_grade",)
    assert grades[2022].notes == () and grades[2021].classes == ("2b",)


def test_a_class_change_and_a_grade_change_within_a_year_are_reported_not_refused() -> None:
    rows = _by_year(
        _attempt(2025, "5", "5a", month=10),
        _attempt(2025, "5", "5b", month=12),  # moved class in the autumn
        _attempt(2024, "3", "3a", month=10),
        _attempt(2024, "4", "4a", month=3),  # moved up a grade in the spring term
    )
    grades = year_grades(PUPIL, rows, [2024, 2025], 2026)
    assert grades[2025].classes == ("5a", "5b") and grades[2025].notes == ("class_changed",)
    assert grades[2024].grade == "4"  # the latest result's
    assert grades[2024].notes == ("class_changed", "grade_changed:3>4")


def test_counting_off_the_grades_or_from_a_university_grade_leaves_the_year_unknown() -> None:
    grades = year_grades(PUPIL, {}, [2020, 2021], 2026)
    assert (grades[2020].grade, grades[2020].source) == (None, "unknown")  # grade 0
    assert (grades[2021].grade, grades[2021].source) == ("1", "counted")
    student = Student("u1", "王五", "F", date(2004, 1, 1), "u1", "univ_1_2")
    assert year_grades(student, {}, [2025], 2026)[2025].source == "unknown"


def test_norms_are_the_tables_level_boundaries_with_the_gap_to_the_next(
    standard: Standard,
) -> None:
    # Grade 5 boys' 50 m (s, lower is better): 60 points at 10.8, 80 at 8.8, 90 at 8.6,
    # 100 at 8.4, as the standard's table prints them.
    norm = norm_for(standard, "run_50m", "5", "male", Decimal("9.5"))
    assert norm is not None
    assert [(b.level, b.score, b.threshold) for b in norm.boundaries] == [
        ("pass", 60, Decimal("10.8")),
        ("good", 80, Decimal("8.8")),
        ("excellent", 90, Decimal("8.6")),
        ("full", 100, Decimal("8.4")),
    ]
    assert norm.reached == "pass" and norm.next is not None and norm.next.level == "good"
    assert norm.gap == Decimal("0.7") and norm.unit == "s"  # 0.7 s faster for 良好
    slow = norm_for(standard, "run_50m", "5", "male", Decimal("11.0"))
    assert slow is not None and slow.reached is None and slow.gap == Decimal("0.2")
    top = norm_for(standard, "run_50m", "5", "male", Decimal("8.2"))
    assert top is not None and (top.reached, top.next, top.gap) == ("full", None, None)
    # Grade 7 boys' pull-ups (blank cells at 78, 74 ...): 4 passes, 9 is 良好, 11 优秀.
    pull = norm_for(standard, "pull_up", "7", "male", Decimal("9"))
    assert pull is not None and [b.threshold for b in pull.boundaries] == [
        Decimal(4),
        Decimal(9),
        Decimal(11),
        Decimal(13),
    ]
    assert (pull.reached, pull.gap) == ("good", Decimal(2))
    # The level a norm says is the level the score says.
    for value in ("8.3", "8.7", "9.9", "12"):
        n = norm_for(standard, "run_50m", "5", "male", Decimal(value))
        score = score_item(standard, "run_50m", "5", "male", Decimal(value)).score
        assert n is not None and (n.reached is not None) == (score >= 60)
    assert norm_for(standard, "pull_up", "5", "male", Decimal("3")) is None  # not in grade 5
    assert norm_for(standard, "bmi", "5", "male", Decimal("18")) is None  # banded, not tabled


def test_the_record_judges_each_year_against_its_recorded_grade(standard: Standard) -> None:
    # Repeated grade 4: both years are judged against grade 4's table, not 3 and 4.
    rows = [
        _attempt(2024, "4", "4a", "sit_and_reach", "5.0"),
        _attempt(2025, "4", "4b", "sit_and_reach", "9.0"),
    ]
    record = growth_record(standard, PUPIL, rows, [], NOW)
    y24, y25 = record.years
    assert (y24.grade, y25.grade, y24.grade_source) == ("4", "4", "recorded")
    assert "repeated_grade" in y25.notes and y25.classes == ("4b",)
    n24, n25 = y24.items["sit_and_reach"].norm, y25.items["sit_and_reach"].norm
    expected = norm_for(standard, "sit_and_reach", "4", "male", Decimal("9.0"))
    assert n24 is not None and n24.grade == "4"
    assert n25 == expected and n25 is not None and n25.next is not None
    assert n25.gap == n25.next.threshold - Decimal("9.0")
