"""A student's growth record (一生一档): one entry per school year, with the change from the last.

Which result counts for a year (docs/fitness.md, "Growth records"): within a test session the
latest attempt (a re-test replaces it, as everywhere in the gateway); across the year's
sessions the best-scored one, because the standard lets a student who failed take one
make-up test (补测) in the school year, and the year is judged on it. Height, weight and vision
are measurements, not attempts: the year's latest counts. A year without any result is a gap
(no items, no total), never zeros, and it breaks the change: a change is against the school
year just before, only when that year holds the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Final

from gateway.fitness.norms import Norm, norm_for
from gateway.fitness.results import TestResult, engine_sex
from gateway.fitness.school_year import school_year_of
from gateway.fitness.scoring import (
    BmiBand,
    Level,
    bmi_band,
    bmi_from,
    level_for,
    round_tenth,
    score_item,
)
from gateway.fitness.standard import GRADE_GROUP, ITEM_IDS, ItemId, Sex, Standard
from gateway.fitness.summary import item_level
from gateway.fitness.year_grade import GradeSource, year_grades
from gateway.roster import Student

MEASUREMENTS: Final = ("height_cm", "weight_kg")
# What only health staff are shown: the body measurements, BMI and vision.
HEALTH_ITEMS: Final = frozenset({*MEASUREMENTS, "bmi"})
LOWER_IS_BETTER: Final = frozenset({"run_50m", "shuttle_50x8", "run_1000m", "run_800m"})


@dataclass(frozen=True)
class Screening:
    """One vision screening's uncorrected acuity (5-point scale) and spherical equivalent."""

    at: datetime
    acuity_left: float | None
    acuity_right: float | None
    se_left: float | None
    se_right: float | None


@dataclass(frozen=True)
class YearItem:
    """The result that counts for one item in one school year, and its change from the last."""

    item: str
    value: Decimal
    unit: str
    score: int | None
    bonus: int | None
    level: Level | BmiBand | None  # a BMI's level is its band
    measured_at: datetime
    lesson_id: str | None  # None for a BMI derived from height and weight
    sessions: int  # test sessions of the year with a result for the item
    attempts: int
    derived: bool = False
    change_value: Decimal | None = None
    change_score: int | None = None
    norm: Norm | None = None  # against the year's grade's boundaries (scored items only)


@dataclass(frozen=True)
class YearTotal:
    standard_score: Decimal
    bonus: int
    total: Decimal
    level: Level


@dataclass(frozen=True)
class GrowthYear:
    """One school year: `year` 2024 is 1 September 2024 to 31 August 2025, China time."""

    year: int
    grade: str | None  # as the year's grade is known (see `year_grades`); None when it is not
    grade_source: GradeSource
    classes: tuple[str, ...]  # the classes the year's results were taken in
    recorded: bool  # False: a gap, nothing was measured this year
    items: dict[str, YearItem]
    missing: tuple[str, ...]  # items the year's grade takes without a result
    total: YearTotal | None
    change_total: Decimal | None
    vision: Screening | None
    notes: tuple[str, ...]


@dataclass(frozen=True)
class GrowthRecord:
    student: Student
    years: tuple[GrowthYear, ...]  # oldest first, every year from the first record to the last


def _better(a: TestResult, b: TestResult) -> bool:
    """Whether *a* beats *b*: the higher score, then bonus, then the better value, then later."""
    if (a.score or 0, a.bonus or 0) != (b.score or 0, b.bonus or 0):
        return (a.score or 0, a.bonus or 0) > (b.score or 0, b.bonus or 0)
    if a.value != b.value:
        return a.value < b.value if a.item in LOWER_IS_BETTER else a.value > b.value
    return (a.measured_at, a.id) > (b.measured_at, b.id)


def _latest_per_session(rows: Iterable[TestResult]) -> dict[tuple[str, str], list[TestResult]]:
    """(item, lesson) -> the session's attempts, latest last."""
    out: dict[tuple[str, str], list[TestResult]] = {}
    for row in sorted(rows, key=lambda r: (r.measured_at, r.id)):
        out.setdefault((row.item, row.lesson_id), []).append(row)
    return out


def _year_items(
    standard: Standard, grade: str | None, sex: Sex, rows: list[TestResult]
) -> dict[str, YearItem]:
    per_session = _latest_per_session(rows)
    counted: dict[str, tuple[TestResult, int, int]] = {}  # item -> (row, sessions, attempts)
    for (item, _), session in per_session.items():
        current = session[-1]
        held = counted.get(item)
        if held is None:
            counted[item] = (current, 1, len(session))
            continue
        row, sessions, total = held
        # Measurements: the latest; scored items: the best of the year's sessions.
        measured = item in HEALTH_ITEMS
        if measured:
            keep = current if (current.measured_at, current.id) > (row.measured_at, row.id) else row
        else:
            keep = current if _better(current, row) else row
        counted[item] = (keep, sessions + 1, total + len(session))
    items: dict[str, YearItem] = {}
    for item, (row, sessions, attempts) in counted.items():
        level: Level | BmiBand | None = item_level(row.score)
        if item == "bmi":
            level = bmi_band(standard, grade, sex, row.value) if grade else None
        items[item] = YearItem(
            item=item,
            value=row.value,
            unit=row.unit,
            score=row.score,
            bonus=row.bonus,
            level=level,
            measured_at=row.measured_at,
            lesson_id=row.lesson_id,
            sessions=sessions,
            attempts=attempts,
        )
    height, weight = items.get("height_cm"), items.get("weight_kg")
    if "bmi" not in items and height and weight and grade is not None:
        bmi = bmi_from(height.value, weight.value)
        items["bmi"] = YearItem(
            item="bmi",
            value=bmi,
            unit="kg/m²",
            score=score_item(standard, "bmi", grade, sex, bmi).score,
            bonus=0,
            level=bmi_band(standard, grade, sex, bmi),
            measured_at=max(height.measured_at, weight.measured_at),
            lesson_id=None,
            sessions=max(height.sessions, weight.sessions),
            attempts=1,
            derived=True,
        )
    return items


def _total(
    standard: Standard, grade: str, sex: Sex, items: dict[str, YearItem]
) -> tuple[YearTotal | None, tuple[str, ...]]:
    """The year's total from the scores its results were given, or the items still missing."""
    takes = standard.items_for(grade, sex)
    missing = tuple(i for i in takes if i not in items or items[i].score is None)
    if missing:
        return None, missing
    weights = standard.weights[(GRADE_GROUP[grade], sex)]
    weighted = sum((Decimal((items[i].score or 0) * weights[i]) for i in takes), Decimal(0)) / 100
    standard_score = round_tenth(weighted)
    bonus = min(sum(items[i].bonus or 0 for i in takes), standard.bonus_cap)
    total = standard_score + bonus
    return YearTotal(standard_score, bonus, total, level_for(total)), ()


def _with_change(item: YearItem, before: YearItem | None) -> YearItem:
    if before is None:
        return item
    score = None if item.score is None or before.score is None else item.score - before.score
    return replace(item, change_value=item.value - before.value, change_score=score)


def growth_record(
    standard: Standard,
    student: Student,
    rows: Sequence[TestResult],
    screenings: Sequence[Screening],
    now: datetime,
) -> GrowthRecord:
    """The student's record over every school year from the first result or screening to the
    last; *now* says which school year the roster's grade is of."""
    sex = engine_sex(student)
    this_year = school_year_of(now)
    by_year: dict[int, list[TestResult]] = {}
    for row in rows:
        if row.student_id == student.id:
            by_year.setdefault(school_year_of(row.measured_at), []).append(row)
    vision: dict[int, Screening] = {}
    for s in sorted(screenings, key=lambda s: s.at):
        vision[school_year_of(s.at)] = s  # the year's latest
    known = sorted({*by_year, *vision})
    span = range(known[0], known[-1] + 1) if known else range(0)
    grades = year_grades(student, by_year, span, this_year)
    years: list[GrowthYear] = []
    before: GrowthYear | None = None
    for year in span:
        placed = grades[year]
        grade = placed.grade
        notes: list[str] = list(placed.notes)
        if grade is None:
            notes.append("grade_unknown")
        items = _year_items(standard, grade, sex, by_year.get(year, []))
        if grade is not None:
            items = {
                k: replace(v, norm=norm_for(standard, k, grade, sex, v.value))
                for k, v in items.items()
            }
        takes = set(standard.items_for(grade, sex)) if grade else set()
        for item in sorted(set(items) - takes - HEALTH_ITEMS, key=_order):
            notes.append(f"not_taken:{item}")  # scored at entry under another grade
        total, missing = _total(standard, grade, sex, items) if grade else (None, ())
        prior = before if before is not None and before.year == year - 1 else None
        items = {
            k: _with_change(v, prior.items.get(k) if prior else None)
            for k, v in sorted(items.items(), key=lambda kv: _order(kv[0]))
        }
        change = (
            total.total - prior.total.total
            if total is not None and prior is not None and prior.total is not None
            else None
        )
        entry = GrowthYear(
            year=year,
            grade=grade,
            grade_source=placed.source,
            classes=placed.classes,
            recorded=year in by_year or year in vision,
            items=items,
            missing=missing if year in by_year else (),
            total=total,
            change_total=change,
            vision=vision.get(year),
            notes=tuple(notes),
        )
        years.append(entry)
        before = entry
    return GrowthRecord(student, tuple(years))


_ORDER: Final = {name: i for i, name in enumerate((*MEASUREMENTS, *ITEM_IDS))}


def _order(item: str) -> int:
    return _ORDER.get(item, len(_ORDER))


def item_ids(records: Iterable[GrowthRecord]) -> list[ItemId]:
    """The scored items any year of any record holds, in the standard's order."""
    held = {i for r in records for y in r.years for i in y.items}
    return [i for i in ITEM_IDS if i in held]


def without_health(record: GrowthRecord) -> GrowthRecord:
    """The record as a PE teacher reads it: no height, weight, BMI or vision (health staff's);
    the totals still hold the BMI's score, as the standard weighs it in."""
    return GrowthRecord(
        record.student,
        tuple(
            replace(
                y,
                items={k: v for k, v in y.items.items() if k not in HEALTH_ITEMS},
                vision=None,
            )
            for y in record.years
        ),
    )


# The school stages a student graduates from, by their grades, and the grade that ends each.
STAGES: Final = (
    (frozenset(str(g) for g in range(1, 7)), "6"),
    (frozenset(str(g) for g in range(7, 10)), "9"),
    (frozenset(str(g) for g in range(10, 13)), "12"),
)


@dataclass(frozen=True)
class Graduation:
    """毕业成绩: the final year's total 50 %, the mean of the stage's other years' totals 50 %."""

    year: int  # the school year the stage ends in
    score: Decimal
    level: Level
    final_total: Decimal
    others_mean: Decimal
    years: tuple[int, ...]  # the other years whose totals were averaged
    without_total: tuple[int, ...]  # years of the stage with no total (not averaged)


def graduation(record: GrowthRecord) -> Graduation | None:
    """The graduation score of the stage whose final grade (6, 9, 12) the record holds a total
    for, by the standard's rule; None without that total or without any other year's total.
    Years of the stage with no total are left out of the mean and listed, not taken as 0."""
    for grades, final in reversed(STAGES):  # the latest stage first
        last = next((y for y in record.years if y.grade == final and y.total), None)
        if last is None or last.total is None:
            continue
        stage = [y for y in record.years if y.grade in grades and y.year < last.year]
        counted = [y for y in stage if y.total is not None]
        if not counted:
            return None
        mean = sum((y.total.total for y in counted if y.total), Decimal(0)) / len(counted)
        score = round_tenth(last.total.total / 2 + mean / 2)
        return Graduation(
            year=last.year,
            score=score,
            level=level_for(score),
            final_total=last.total.total,
            others_mean=round_tenth(mean),
            years=tuple(y.year for y in counted),
            without_total=tuple(y.year for y in stage if y.total is None),
        )
    return None
