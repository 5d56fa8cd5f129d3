"""Loading the packaged standard: provenance kept, and damaged data refused with its place named."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from gateway.fitness.standard import Standard, StandardDataError, parse_standard
from tests.gateway.fitness.conftest import raw_text


def test_provenance_and_confidence_are_kept(standard: Standard, raw: dict[str, Any]) -> None:
    assert "教体艺〔2014〕5号" in standard.official_source
    assert set(raw["sources"]) >= {"A", "B", "C", "D"}
    for table in standard.tables.values():
        assert table.confidence and table.sources, (table.item, table.grade, table.sex)
    # The single-source tables the reference warns about stay visible as such.
    one_source = {
        (t.item, t.grade, t.sex) for t in standard.tables.values() if "one source" in t.confidence
    }
    assert ("vital_capacity", "8", "female") in one_source  # 初中 肺活量
    assert ("run_1000m", "7", "male") in one_source  # 初中 耐力跑
    assert ("run_800m", "11", "female") in one_source  # 高中 耐力跑
    assert ("sit_and_reach", "10", "female") in one_source  # 高中 女生 坐位体前屈
    assert ("run_50m", "1", "male") not in one_source


def _damaged(change: Callable[[dict[str, Any]], None]) -> str:
    data = json.loads(raw_text())
    change(data)
    return json.dumps(data, ensure_ascii=False)


def _swap_cells(d: dict[str, Any]) -> None:
    row = d["tables"]["run_50m"]["grades"]["4"]["female"]
    row[3], row[4] = row[4], row[3]


def _blank_top(d: dict[str, Any]) -> None:
    d["tables"]["pull_up"]["grades"]["9"]["male"][0] = None


def _short_row(d: dict[str, Any]) -> None:
    d["tables"]["sit_up_1min"]["grades"]["5"]["male"].pop()


def _gap_in_bmi(d: dict[str, Any]) -> None:
    d["bmi"]["grades"]["6"]["female"]["overweight"][0] = 21.0


def _weights(d: dict[str, Any]) -> None:
    d["weights_percent"]["grade_3_4"]["run_50m"] = 25


def _bonus_grades(d: dict[str, Any]) -> None:
    d["bonus"]["pull_up_male"]["grades"] = "高中, 大学"


def _missing_table(d: dict[str, Any]) -> None:
    del d["tables"]["standing_long_jump"]["grades"]["11"]


def _no_confidence(d: dict[str, Any]) -> None:
    del d["tables"]["vital_capacity"]["grades"]["2"]["confidence"]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (_swap_cells, "tables.run_50m.grades.4.female"),
        (_blank_top, "tables.pull_up.grades.9.male"),
        (_short_row, "tables.sit_up_1min.grades.5.male"),
        (_gap_in_bmi, "bmi.grades.6.female"),
        (_weights, "weights_percent.grade_3_4"),
        (_bonus_grades, "bonus.pull_up_male.grades"),
        (_missing_table, "no standing_long_jump table for grade 11"),
        (_no_confidence, "tables.vital_capacity.grades.2"),
    ],
)
def test_damaged_data_is_refused(change: Callable[[dict[str, Any]], None], where: str) -> None:
    with pytest.raises(StandardDataError) as err:
        parse_standard(_damaged(change))
    assert where in str(err.value)
