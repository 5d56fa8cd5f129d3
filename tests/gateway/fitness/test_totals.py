"""Totals: weights per grade group, one-decimal rounding, bonus on top, and the four levels."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from gateway.fitness.scoring import level_for, score_total
from gateway.fitness.standard import GRADES, Standard
from gateway.fitness.values import FieldError


def _value(standard: Standard, item: str, grade: str, sex: str, level: int) -> Decimal:
    """The published threshold for `level` (which must not be a blank cell)."""
    table = standard.tables[(item, grade, sex)]  # type: ignore[index]
    threshold = table.published[standard.score_levels.index(level)]
    assert threshold is not None
    return threshold


def _results(
    standard: Standard, grade: str, sex: str, levels: dict[str, int]
) -> dict[str, Decimal]:
    results = {"bmi": Decimal(levels.pop("bmi_value"))}
    for item, level in levels.items():
        results[item] = _value(standard, item, grade, sex, level)
    return results


def test_grade_5_weights(standard: Standard) -> None:
    # bmi 100×15% + 肺活量 80×15% + 50m 60×20% + 坐位体前屈 100×10% + 跳绳 70×10%
    # + 仰卧起坐 90×20% + 50×8 50×10% = 15 + 12 + 12 + 10 + 7 + 18 + 5 = 79.0
    levels = {
        "bmi_value": 18,
        "vital_capacity": 80,
        "run_50m": 60,
        "sit_and_reach": 100,
        "rope_skip_1min": 70,
        "sit_up_1min": 90,
        "shuttle_50x8": 50,
    }
    total = score_total(standard, "5", "male", _results(standard, "5", "male", levels))  # type: ignore[arg-type]
    assert (total.standard_score, total.bonus, total.total, total.level) == (
        Decimal("79.0"),
        0,
        Decimal("79.0"),
        "pass",
    )
    assert [i.score for i in total.items] == [100, 80, 60, 100, 70, 90, 50]


def test_standard_score_rounds_half_up_to_one_decimal(standard: Standard) -> None:
    # 15 + 85×15% (12.75) + 20 + 30 + 20 = 97.75 -> 97.8
    levels = {"bmi_value": 16, "vital_capacity": 85, "run_50m": 100}
    levels |= {"sit_and_reach": 100, "rope_skip_1min": 100}
    total = score_total(standard, "1", "female", _results(standard, "1", "female", levels))  # type: ignore[arg-type]
    assert total.standard_score == Decimal("97.8")


def test_junior_high_female_uses_sit_ups_and_800m(standard: Standard) -> None:
    # 15×(bmi 80: low weight) + 肺活量 100×15% + 50m 100×20% + 坐位 100×10% + 跳远 100×10%
    # + 仰卧 100×10% + 800m 60×20% = 12 + 15 + 20 + 10 + 10 + 10 + 12 = 89.0; +2 sit-up bonus
    levels = {"bmi_value": 14, "vital_capacity": 100, "run_50m": 100, "sit_and_reach": 100}
    levels |= {"standing_long_jump": 100, "sit_up_1min": 100, "run_800m": 60}
    results = _results(standard, "9", "female", levels)
    results["sit_up_1min"] += 4
    total = score_total(standard, "9", "female", results)  # type: ignore[arg-type]
    assert (total.standard_score, total.bonus, total.total, total.level) == (
        Decimal("89.0"),
        2,
        Decimal("91.0"),
        "excellent",  # the level counts the bonus (学年总分)
    )


def test_weights_add_to_100_for_every_grade(standard: Standard) -> None:
    for (group, sex), weights in standard.weights.items():
        assert sum(weights.values()) == 100, (group, sex)
        assert weights["bmi"] == 15 and weights["vital_capacity"] == 15
    assert len(standard.items_for("1", "male")) == 5
    assert len(standard.items_for("3", "male")) == 6
    assert len(standard.items_for("6", "female")) == 7
    for grade in GRADES[6:]:
        assert "pull_up" in standard.items_for(grade, "male")
        assert "sit_up_1min" not in standard.items_for(grade, "male")
        assert "run_800m" in standard.items_for(grade, "female")


@pytest.mark.parametrize(
    ("total", "level"),
    [
        ("120", "excellent"),
        ("90.0", "excellent"),
        ("89.9", "good"),
        ("80.0", "good"),
        ("79.9", "pass"),
        ("60.0", "pass"),
        ("59.9", "fail"),
        ("0", "fail"),
    ],
)
def test_levels(total: str, level: str) -> None:
    assert level_for(Decimal(total)) == level


def test_missing_item_is_named(standard: Standard) -> None:
    results = {"bmi": Decimal(20), "vital_capacity": Decimal(2000), "run_50m": Decimal(10)}
    with pytest.raises(FieldError) as err:
        score_total(standard, "1", "male", results)  # type: ignore[arg-type]
    assert err.value.field == "sit_and_reach"
    assert "missing" in err.value.message


def test_item_not_taken_by_grade_is_named(standard: Standard) -> None:
    levels = {"bmi_value": 16, "vital_capacity": 85, "run_50m": 100}
    levels |= {"sit_and_reach": 100, "rope_skip_1min": 100}
    results = _results(standard, "1", "female", levels)
    results["sit_up_1min"] = Decimal(30)
    with pytest.raises(FieldError) as err:
        score_total(standard, "1", "female", results)  # type: ignore[arg-type]
    assert err.value.field == "sit_up_1min"


def _raw_weights(raw: dict[str, Any], grade: str, sex: str) -> dict[str, int]:
    """The reference's weights for a grade and sex, read straight from the JSON."""
    group = {
        "1": "grade_1_2",
        "2": "grade_1_2",
        "3": "grade_3_4",
        "4": "grade_3_4",
        "5": "grade_5_6",
        "6": "grade_5_6",
    }.get(grade, "junior_senior_university")
    either = {
        "pull_up_male_or_sit_up_female": ("pull_up", "sit_up_1min"),
        "endurance_1000m_male_or_800m_female": ("run_1000m", "run_800m"),
    }
    out: dict[str, int] = {}
    for key, weight in {
        **raw["weights_percent"]["all_grades"],
        **raw["weights_percent"][group],
    }.items():
        out[either[key][sex == "female"] if key in either else key] = int(weight)
    return out


def test_every_item_weight_of_every_grade_and_sex(standard: Standard, raw: dict[str, Any]) -> None:
    # Full marks everywhere but one item at 60 points: the total drops by 0.4 × its weight.
    checked = 0
    for grade in GRADES:
        for sex in ("male", "female"):
            weights = _raw_weights(raw, grade, sex)
            assert set(standard.items_for(grade, sex)) == set(weights)  # type: ignore[arg-type]
            bands = raw["bmi"]["grades"]["univ" if grade.startswith("univ") else grade][sex]
            full: dict[str, Decimal] = {"bmi": Decimal(bands["normal"][0])}
            for item in weights:
                if item != "bmi":
                    full[item] = _value(standard, item, grade, sex, 100)
            for item, weight in weights.items():
                results = dict(full)
                results[item] = (
                    Decimal(bands["obese_min"])
                    if item == "bmi"
                    else _value(standard, item, grade, sex, 60)
                )
                total = score_total(standard, grade, sex, results)  # type: ignore[arg-type]
                assert total.standard_score == 100 - Decimal("0.4") * weight, (grade, sex, item)
                assert total.bonus == 0
                checked += 1
    assert checked == sum(len(_raw_weights(raw, g, s)) for g in GRADES for s in ("male", "female"))
