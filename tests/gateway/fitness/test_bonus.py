"""Bonus points: which items and grades earn them, each step's edge, and the total cap."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from gateway.fitness.scoring import score_item, score_total
from gateway.fitness.standard import GRADES, Standard, parse_standard
from tests.gateway.fitness.conftest import raw_text

PRIMARY = GRADES[:6]
SECONDARY_UP = GRADES[6:]
# bonus section -> (item, sexes, grades, margin key) as the standard's text describes them
SECTIONS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], str]] = {
    "primary_rope_skip_1min": ("rope_skip_1min", ("male", "female"), PRIMARY, "extra_count"),
    "pull_up_male": ("pull_up", ("male",), SECONDARY_UP, "extra_reps"),
    "sit_up_1min_female": ("sit_up_1min", ("female",), SECONDARY_UP, "extra_reps"),
    "run_1000m_male": ("run_1000m", ("male",), SECONDARY_UP, "seconds_faster"),
    "run_800m_female": ("run_800m", ("female",), SECONDARY_UP, "seconds_faster"),
}


def test_every_bonus_step_both_sides(standard: Standard, raw: dict[str, Any]) -> None:
    checked = 0
    for key, (item, sexes, grades, margin_key) in SECTIONS.items():
        steps = [(s["bonus"], Decimal(s[margin_key])) for s in raw["bonus"][key]["table"]]
        lower_better = item.startswith("run_")
        for grade in grades:
            for sex in sexes:
                top = standard.tables[(item, grade, sex)].top  # type: ignore[index]

                def value(
                    margin: Decimal, top: Decimal = top, lower: bool = lower_better
                ) -> Decimal:
                    return top - margin if lower else top + margin

                for n, (points, margin) in enumerate(steps):
                    previous = steps[n - 1][0] if n else 0
                    at = score_item(standard, item, grade, sex, value(margin))  # type: ignore[arg-type]
                    short = score_item(standard, item, grade, sex, value(margin - 1))  # type: ignore[arg-type]
                    assert (at.score, at.bonus) == (100, points), (key, grade, sex, margin)
                    assert short.bonus == previous, (key, grade, sex, margin - 1)
                    checked += 2
                # At the 100-point threshold itself there is nothing extra yet.
                assert score_item(standard, item, grade, sex, top).bonus == 0  # type: ignore[arg-type]
    assert checked == 2 * 20 * 12 + 2 * 10 * 8 * 4


@pytest.mark.parametrize(
    ("extra", "bonus"), [(0, 0), (1, 0), (2, 1), (3, 1), (39, 19), (40, 20), (90, 20)]
)
def test_rope_skip_one_point_per_two_skips(standard: Standard, extra: int, bonus: int) -> None:
    top = standard.tables[("rope_skip_1min", "4", "female")].top
    assert score_item(standard, "rope_skip_1min", "4", "female", top + extra).bonus == bonus


def test_no_bonus_where_the_standard_gives_none(standard: Standard) -> None:
    # Primary sit-ups and junior-high rope skipping (not taken) earn nothing extra.
    top = standard.tables[("sit_up_1min", "5", "female")].top
    assert score_item(standard, "sit_up_1min", "5", "female", top + 20).bonus == 0
    for item in ("vital_capacity", "standing_long_jump", "sit_and_reach"):
        top = standard.tables[(item, "10", "male")].top  # type: ignore[index]
        assert score_item(standard, item, "10", "male", top * 2).bonus == 0  # type: ignore[arg-type]


def test_bonus_only_counts_beyond_the_top_in_the_right_direction(standard: Standard) -> None:
    top = standard.tables[("run_1000m", "9", "male")].top
    assert score_item(standard, "run_1000m", "9", "male", top + 10).bonus == 0  # slower: none
    assert score_item(standard, "run_1000m", "9", "male", top - Decimal("3.9")).bonus == 0
    assert score_item(standard, "run_1000m", "9", "male", top - 4).bonus == 1


def _full_marks(standard: Standard, grade: str, sex: str) -> dict[str, Decimal]:
    results: dict[str, Decimal] = {"bmi": Decimal(20)}
    for item in standard.items_for(grade, sex):  # type: ignore[arg-type]
        if item != "bmi":
            results[item] = standard.tables[(item, grade, sex)].top  # type: ignore[index]
    return results


def test_total_bonus_sums_items(standard: Standard) -> None:
    results = _full_marks(standard, "8", "male")
    results["pull_up"] += 3
    results["run_1000m"] -= 8
    total = score_total(standard, "8", "male", results)  # type: ignore[arg-type]
    assert (total.standard_score, total.bonus, total.total) == (
        Decimal("100.0"),
        5,
        Decimal("105.0"),
    )


def test_total_bonus_is_capped_at_twenty(raw: dict[str, Any]) -> None:
    # The published steps cannot exceed 20 together, so widen one rule to see the cap bite.
    data = json.loads(raw_text())
    data["bonus"]["pull_up_male"]["table"] += [{"bonus": b, "extra_reps": b} for b in range(11, 16)]
    standard = parse_standard(json.dumps(data))
    results = _full_marks(standard, "8", "male")
    results["pull_up"] += 15
    results["run_1000m"] -= 35
    assert score_item(standard, "pull_up", "8", "male", results["pull_up"]).bonus == 15
    total = score_total(standard, "8", "male", results)  # type: ignore[arg-type]
    assert total.bonus == 20
    assert total.total == Decimal("120.0")
