"""Generated over every cell of every published table: each threshold and both sides of it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from gateway.fitness.scoring import score_item, table_score
from gateway.fitness.standard import GRADES, ItemId, Standard

# The reference's table names -> the product's item ids (per sex for the endurance runs).
TABLE_ITEMS: dict[str, dict[str, str]] = {
    "vital_capacity": {"male": "vital_capacity", "female": "vital_capacity"},
    "run_50m": {"male": "run_50m", "female": "run_50m"},
    "sit_and_reach": {"male": "sit_and_reach", "female": "sit_and_reach"},
    "rope_skip_1min": {"male": "rope_skip_1min", "female": "rope_skip_1min"},
    "sit_up_1min": {"male": "sit_up_1min", "female": "sit_up_1min"},
    "shuttle_50x8": {"male": "shuttle_50x8", "female": "shuttle_50x8"},
    "standing_long_jump": {"male": "standing_long_jump", "female": "standing_long_jump"},
    "pull_up": {"male": "pull_up"},
    "endurance_run": {"male": "run_1000m", "female": "run_800m"},
}


def _step(row: list[Decimal | int | None]) -> Decimal:
    """The recording precision of a column: 1 for whole numbers, 0.1 for one decimal, ..."""
    places = 0
    for v in row:
        if isinstance(v, Decimal):
            places = max(places, -int(v.as_tuple().exponent))
    return Decimal(1).scaleb(-places)


def _columns(raw: dict[str, Any]) -> list[tuple[str, str, str, list[Any], bool]]:
    columns = []
    for table_key, items in TABLE_ITEMS.items():
        table = raw["tables"][table_key]
        higher = table["direction"] == "higher_is_better"
        for grade, by_sex in table["grades"].items():
            for sex, item in items.items():
                if by_sex.get(sex) is not None:
                    columns.append((item, grade, sex, by_sex[sex], higher))
    return columns


def test_every_cell_both_sides(standard: Standard, raw: dict[str, Any]) -> None:
    levels: list[int] = raw["score_levels"]
    columns = _columns(raw)
    failures: list[str] = []
    checked = 0
    for item, grade, sex, row, higher in columns:
        step = _step(row)
        worse = -step if higher else step
        filled = [(levels[i], Decimal(t)) for i, t in enumerate(row) if t is not None]
        for n, (level, threshold) in enumerate(filled):
            # One step worse than this cell falls to the next published cell (blanks skipped),
            # or to 0 below the last one; one step better climbs only if that is the next cell.
            below = filled[n + 1][0] if n + 1 < len(filled) else 0
            better_value = threshold - worse
            above = level
            if n > 0 and filled[n - 1][1] == better_value:
                above = filled[n - 1][0]
            for value, expected in (
                (threshold, level),
                (threshold + worse, below),
                (better_value, above),
            ):
                got = score_item(standard, item, grade, sex, value).score  # type: ignore[arg-type]
                checked += 1
                if got != expected:
                    failures.append(
                        f"{item} grade {grade} {sex} value {value}: {got} != {expected}"
                    )
    assert not failures, f"{len(failures)} wrong cells, first: {failures[:5]}"
    # 156 columns of 20 levels, less the blank pull-up cells: nothing was silently skipped.
    assert len(columns) == 156
    assert checked == 3 * sum(sum(v is not None for v in c[3]) for c in columns)


def test_tables_cover_every_grade_and_sex(standard: Standard) -> None:
    for grade in GRADES:
        for sex in ("male", "female"):
            for item in standard.items_for(grade, sex):  # type: ignore[arg-type]
                if item != "bmi":
                    assert (item, grade, sex) in standard.tables, (item, grade, sex)


def test_blank_cells_are_skipped(standard: Standard) -> None:
    # 初一 male pull-up: 78, 74, 70, 66, 62, 20 and 10 are blank; 9 reps is 80, 8 reps is 76.
    table = standard.tables[("pull_up", "7", "male")]
    assert table.published[5] is None
    assert table_score(table, Decimal(9)) == 80
    assert table_score(table, Decimal(8)) == 76
    assert table_score(table, Decimal(1)) == 30  # the last published cell
    assert table_score(table, Decimal(0)) == 0  # 20 and 10 are blank: nothing to reach


def test_below_ten_point_threshold_scores_zero(standard: Standard) -> None:
    assert score_item(standard, "run_50m", "1", "male", Decimal("13.6")).score == 10
    assert score_item(standard, "run_50m", "1", "male", Decimal("13.7")).score == 0
    assert score_item(standard, "vital_capacity", "1", "male", Decimal(200)).score == 0


@pytest.mark.parametrize(
    ("item", "grade", "sex", "value", "score"),
    [
        ("run_50m", "1", "male", "10.2", 100),  # exactly at the threshold, lower is better
        ("run_50m", "1", "male", "10.21", 95),
        ("run_50m", "1", "female", "11.0", 100),
        ("run_1000m", "univ_1_2", "male", "197", 100),
        ("run_800m", "univ_1_2", "female", "324", 10),
        ("run_800m", "univ_1_2", "female", "325", 0),
    ],
)
def test_known_cells(
    standard: Standard, item: ItemId, grade: str, sex: str, value: str, score: int
) -> None:
    assert score_item(standard, item, grade, sex, Decimal(value)).score == score  # type: ignore[arg-type]
