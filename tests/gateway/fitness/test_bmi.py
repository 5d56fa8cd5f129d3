"""BMI: computed from height and weight, rounded to one decimal, then banded per grade and sex."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from gateway.fitness.scoring import bmi_band, bmi_from, round_tenth, score_item
from gateway.fitness.standard import GRADES, Standard

TENTH = Decimal("0.1")


@pytest.mark.parametrize(
    ("height_cm", "weight_kg", "bmi"),
    [
        ("200", "74.2", "18.6"),  # 18.55 exactly: half rounds up
        ("200", "74.18", "18.5"),  # 18.545
        ("160", "51.2", "20.0"),
        ("150", "33.75", "15.0"),
        ("175.5", "70", "22.7"),  # 22.727...
    ],
)
def test_bmi_from_height_and_weight(height_cm: str, weight_kg: str, bmi: str) -> None:
    assert bmi_from(Decimal(height_cm), Decimal(weight_kg)) == Decimal(bmi)


def test_round_tenth_is_half_up() -> None:
    assert round_tenth(Decimal("17.25")) == Decimal("17.3")
    assert round_tenth(Decimal("17.249")) == Decimal("17.2")


def test_every_band_edge(standard: Standard, raw: dict[str, Any]) -> None:
    scores = {"low_weight": 80, "normal": 100, "overweight": 80, "obese": 60}
    checked = 0
    for grade in GRADES:
        key = "univ" if grade.startswith("univ") else grade
        for sex in ("male", "female"):
            b = raw["bmi"]["grades"][key][sex]
            cases = [
                (b["low_weight_max"], "low_weight"),
                (b["low_weight_max"] + Decimal("0.04"), "low_weight"),  # rounds down
                (b["low_weight_max"] + Decimal("0.05"), "normal"),  # rounds up into normal
                (b["normal"][0], "normal"),
                (b["normal"][1], "normal"),
                (b["normal"][1] + Decimal("0.049"), "normal"),
                (b["overweight"][0], "overweight"),
                (b["overweight"][1], "overweight"),
                (b["overweight"][1] + Decimal("0.05"), "obese"),
                (b["obese_min"], "obese"),
                (b["obese_min"] + 20, "obese"),
                (b["low_weight_max"] - 5, "low_weight"),
            ]
            for value, band in cases:
                assert bmi_band(standard, grade, sex, value) == band, (grade, sex, value)
                item = score_item(standard, "bmi", grade, sex, value)
                assert (item.score, item.bonus) == (scores[band], 0), (grade, sex, value)
                checked += 1
    assert checked == len(GRADES) * 2 * 12


def test_university_years_share_one_band_set(standard: Standard) -> None:
    # 大学 male: 17.9-23.9 normal, 24.0-27.9 overweight, >= 28.0 obese.
    for grade in ("univ_1_2", "univ_3_4"):
        assert bmi_band(standard, grade, "male", Decimal("17.8")) == "low_weight"
        assert bmi_band(standard, grade, "male", Decimal("23.9")) == "normal"
        assert bmi_band(standard, grade, "male", Decimal("23.95")) == "overweight"
        assert bmi_band(standard, grade, "male", Decimal("28.0")) == "obese"
