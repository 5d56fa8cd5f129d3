"""Per-student current results with levels, year totals, and a class's distribution per item.

Item levels use the standard's total cut-offs (≥ 90 excellent, 80–89 good, 60–79 pass,
< 60 fail) on the item score: the standard defines levels for the total only, so this is the
project's reading, the same one PE departments use for per-item reports. BMI is the exception:
its level is its band (normal, low_weight, overweight, obese), as the BMI table grades it;
80 points is underweight or overweight, not "good".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

from gateway.fitness.results import TestResult, current, engine_sex
from gateway.fitness.scoring import (
    BmiBand,
    Level,
    TotalScore,
    bmi_band,
    bmi_from,
    level_for,
    score_item,
    score_total,
)
from gateway.fitness.standard import ITEM_IDS, ItemId, Standard
from gateway.fitness.values import FieldError
from gateway.roster import Student

LEVELS: Final[tuple[Level, ...]] = ("excellent", "good", "pass", "fail")
BMI_LEVELS: Final[tuple[BmiBand, ...]] = ("normal", "low_weight", "overweight", "obese")


@dataclass(frozen=True)
class ItemResult:
    """A student's current result for one item (or measurement) and how many attempts led to it."""

    item: str
    value: Decimal
    unit: str
    score: int | None
    bonus: int | None
    level: Level | BmiBand | None  # a BMI's level is its band
    measured_at: datetime
    attempts: int
    derived: bool = False  # BMI computed from height and weight


@dataclass(frozen=True)
class StudentSummary:
    student: Student
    items: dict[str, ItemResult]
    missing: tuple[str, ...]
    total: TotalScore | None


def item_level(score: int | None) -> Level | None:
    return None if score is None else level_for(Decimal(score))


def _derived_bmi(
    standard: Standard, student: Student, items: dict[str, ItemResult]
) -> ItemResult | None:
    height, weight = items.get("height_cm"), items.get("weight_kg")
    if height is None or weight is None:
        return None
    bmi = bmi_from(height.value, weight.value)
    sex = engine_sex(student)
    score = score_item(standard, "bmi", student.grade, sex, bmi).score
    return ItemResult(
        "bmi",
        bmi,
        "kg/m²",
        score,
        0,
        bmi_band(standard, student.grade, sex, bmi),
        max(height.measured_at, weight.measured_at),
        1,
        derived=True,
    )


def summarize(
    standard: Standard, students: Iterable[Student], rows: Iterable[TestResult]
) -> list[StudentSummary]:
    """Current results per student over the given attempts; totals when every item is there."""
    latest = current(rows)
    out: list[StudentSummary] = []
    for student in students:
        items: dict[str, ItemResult] = {}
        for (student_id, item), (row, attempts) in latest.items():
            if student_id == student.id:
                level = (
                    bmi_band(standard, student.grade, engine_sex(student), row.value)
                    if item == "bmi"
                    else item_level(row.score)
                )
                items[item] = ItemResult(
                    item,
                    row.value,
                    row.unit,
                    row.score,
                    row.bonus,
                    level,
                    row.measured_at,
                    attempts,
                )
        if "bmi" not in items:
            bmi = _derived_bmi(standard, student, items)
            if bmi is not None:
                items["bmi"] = bmi
        takes = standard.items_for(student.grade, engine_sex(student))
        missing = tuple(i for i in takes if i not in items)
        total = None
        if not missing:
            try:
                total = score_total(
                    standard, student.grade, engine_sex(student), {i: items[i].value for i in takes}
                )
            except FieldError:  # cannot happen for stored rows; a total is then just absent
                total = None
        out.append(StudentSummary(student, items, missing, total))
    return out


def class_items(standard: Standard, students: Iterable[Student]) -> list[ItemId]:
    """Items any student of the class takes, in the standard's order."""
    taken = {i for s in students for i in standard.items_for(s.grade, engine_sex(s))}
    return [i for i in ITEM_IDS if i in taken]


def distribution(standard: Standard, summaries: list[StudentSummary]) -> dict[str, dict[str, int]]:
    """item -> level (for `bmi`: band) -> number of students, plus `untested` (takes it, no
    result), and the same for `total` (untested = no complete total)."""
    out: dict[str, dict[str, int]] = {}
    students = [s.student for s in summaries]
    for item in class_items(standard, students):
        counts = dict.fromkeys((*(BMI_LEVELS if item == "bmi" else LEVELS), "untested"), 0)
        for summary in summaries:
            if item not in standard.items_for(summary.student.grade, engine_sex(summary.student)):
                continue
            result = summary.items.get(item)
            counts[result.level if result and result.level else "untested"] += 1
        out[item] = counts
    totals = dict.fromkeys((*LEVELS, "untested"), 0)
    for summary in summaries:
        totals[summary.total.level if summary.total else "untested"] += 1
    out["total"] = totals
    return out
