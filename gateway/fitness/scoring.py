"""Scores by the 2014 standard: item score, bonus, BMI band, weighted total and level (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, Literal

from gateway.fitness.standard import GRADE_GROUP, ItemId, ScoreTable, Sex, Standard
from gateway.fitness.values import FieldError

Level = Literal["excellent", "good", "pass", "fail"]
BmiBand = Literal["low_weight", "normal", "overweight", "obese"]

_TENTH: Final = Decimal("0.1")
# 优秀 >= 90.0, 良好 80.0-89.9, 及格 60.0-79.9, 不及格 <= 59.9 (checked against the data on load).
_LEVEL_CUTOFFS: Final[tuple[tuple[Decimal, Level], ...]] = (
    (Decimal(90), "excellent"),
    (Decimal(80), "good"),
    (Decimal(60), "pass"),
)


@dataclass(frozen=True)
class ItemScore:
    """One item's standard score (0..100) and bonus points."""

    item: ItemId
    score: int
    bonus: int


@dataclass(frozen=True)
class TotalScore:
    """A student's year result: weighted standard score + capped bonus."""

    standard_score: Decimal  # one decimal
    bonus: int
    total: Decimal
    level: Level
    items: tuple[ItemScore, ...]


def round_tenth(value: Decimal) -> Decimal:
    """Round half up to one decimal, as published values are."""
    return value.quantize(_TENTH, rounding=ROUND_HALF_UP)


def bmi_from(height_cm: Decimal, weight_kg: Decimal) -> Decimal:
    """BMI = weight (kg) / height (m)², rounded to one decimal before any banding."""
    if height_cm <= 0:
        raise FieldError("height_cm", "height must be positive")
    metres = height_cm / 100
    return round_tenth(weight_kg / (metres * metres))


def bmi_band(standard: Standard, grade: str, sex: Sex, bmi: Decimal) -> BmiBand:
    """The band for a BMI, rounded to one decimal first so the published bands cover every value."""
    bands = standard.bmi_bands_for(grade, sex)
    value = round_tenth(bmi)
    if value <= bands.low_weight_max:
        return "low_weight"
    if value <= bands.normal[1]:
        return "normal"
    if value <= bands.overweight[1]:
        return "overweight"
    return "obese"


def table_for(standard: Standard, item: ItemId, grade: str, sex: Sex) -> ScoreTable:
    """The score table, or a FieldError naming the item when this grade and sex don't take it."""
    table = standard.tables.get((item, grade, sex))
    if table is None or item not in standard.items_for(grade, sex):
        raise FieldError(item, f"{item} is not a test item for grade {grade} {sex} students")
    return table


def table_score(table: ScoreTable, value: Decimal) -> int:
    """The highest level whose threshold `value` reaches; blank cells are skipped; else 0."""
    for cell in table.cells:
        if table.reaches(value, cell.threshold):
            return cell.score
    return 0


def table_bonus(standard: Standard, table: ScoreTable, value: Decimal) -> int:
    """Bonus points for going beyond the 100-point threshold (0 if the item has no bonus here)."""
    rule = standard.bonus_rule(table.item, table.grade, table.sex)
    if rule is None:
        return 0
    margin = value - table.top if table.direction == "higher_is_better" else table.top - value
    points = 0
    for step_points, needed in rule.steps:
        if margin >= needed:
            points = step_points
    return points


def score_item(standard: Standard, item: ItemId, grade: str, sex: Sex, value: Decimal) -> ItemScore:
    """Score one result; for `bmi` the value is the BMI itself."""
    if item == "bmi":
        band = bmi_band(standard, grade, sex, value)
        return ItemScore("bmi", standard.bmi_scores[band], 0)
    table = table_for(standard, item, grade, sex)
    return ItemScore(item, table_score(table, value), table_bonus(standard, table, value))


def level_for(total: Decimal) -> Level:
    """优秀/良好/及格/不及格 as excellent/good/pass/fail."""
    for cutoff, level in _LEVEL_CUTOFFS:
        if total >= cutoff:
            return level
    return "fail"


def score_total(
    standard: Standard, grade: str, sex: Sex, results: Mapping[ItemId, Decimal]
) -> TotalScore:
    """Weighted total over every item of the grade; every item must be present and none extra.

    Raises FieldError naming the first missing or not-applicable item (in the standard's order).
    """
    expected = standard.items_for(grade, sex)
    for item in results:
        if item not in expected:
            raise FieldError(item, f"{item} is not a test item for grade {grade} {sex} students")
    for item in expected:
        if item not in results:
            raise FieldError(item, f"missing item {item} (grade {grade} {sex} takes it)")
    weights = standard.weights[(GRADE_GROUP[grade], sex)]
    items = tuple(score_item(standard, item, grade, sex, results[item]) for item in expected)
    weighted = sum((Decimal(s.score * weights[s.item]) for s in items), Decimal(0)) / 100
    standard_score = round_tenth(weighted)
    bonus = min(sum(s.bonus for s in items), standard.bonus_cap)
    total = standard_score + bonus
    return TotalScore(standard_score, bonus, total, level_for(total), items)
