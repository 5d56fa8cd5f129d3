"""Batches: output aligned with input, bad rows named by row and column, good rows still scored."""

from __future__ import annotations

import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.fitness.batch import CsvFormatError, RowResult, run_csv, run_jsonl, to_json_line
from gateway.fitness.standard import Standard


def _jsonl(standard: Standard, kind: str, lines: list[str]) -> list[RowResult]:
    return list(run_jsonl(standard, kind, lines))  # type: ignore[arg-type]


def test_score_lines_in_order_with_errors_in_place(standard: Standard) -> None:
    lines = [
        '{"id": "a", "grade": "1", "sex": "male", "item": "run_50m", "value": 10.2, "lane": 3}',
        '{"id": "b", "grade": "3", "sex": "male", "item": "pull_up", "value": 3}',
        "",
        '{"id": "c", "grade": "8", "sex": "male", "item": "run_1000m", "value": "3:37"}',
        '{"id": "d", "grade": "8", "sex": "female", "item": "vital_capacity", "value": 2.5}',
        "[1, 2]",
        '{"id": "e", "grade": "8", "sex": "female", "item": "sit_up_1min"}',
        "{broken",
    ]
    results = _jsonl(standard, "score", lines)
    assert [r.record for r in results] == [
        {"id": "a", "score": 100, "bonus": 0},
        {
            "id": "b",
            "error": "pull_up is not a test item for grade 3 male students",
            "field": "item",
        },
        {"id": "c", "score": 100, "bonus": 3},  # 初二 male 100 at 230 s; 217 s is 13 s faster
        {
            "id": "d",
            "error": "wrong unit: 2.5 looks like litres; vital_capacity is in millilitres",
            "field": "value",
        },
        {"id": None, "error": "expected a JSON object", "field": "json"},
        {"id": "e", "error": "missing value", "field": "value"},
        {
            "id": None,
            "error": "not valid JSON: Expecting property name enclosed in double quotes",
            "field": "json",
        },
    ]
    # Rows are line numbers: the blank line 3 still counts.
    errors = [(e.row, e.column) for r in results for e in r.errors]
    assert errors == [(2, "item"), (5, "value"), (6, "json"), (7, "value"), (8, "json")]


def test_score_line_with_a_unit(standard: Standard) -> None:
    lines = [
        '{"id": 1, "grade": "9", "sex": "female", "item": "run_800m", "value": 205, "unit": "s"}',
        '{"id": 2, "grade": "9", "sex": "female", "item": "run_800m", "value": 3.5, "unit": "min"}',
    ]
    first, second = _jsonl(standard, "score", lines)
    assert first.record == {"id": 1, "score": 100, "bonus": 0}
    assert second.record["field"] == "unit"
    assert second.record["error"] == "wrong unit 'min' for run_800m: give it in s"


def test_total_lines(standard: Standard) -> None:
    good = {
        "id": 17,
        "grade": "univ_1_2",
        "sex": "female",
        "class": "u1-3",  # not ours: ignored
        "results": {
            "height_cm": 165,
            "weight_kg": 55,
            "vital_capacity": 3400,
            "run_50m": 7.5,
            "sit_and_reach": 25.8,
            "standing_long_jump": 207,
            "sit_up_1min": 60,
            "run_800m": "3:18",
        },
    }
    bad = {"id": 18, "grade": "univ_1_2", "sex": "female", "results": {"run_50m": "fast"}}
    missing = {"id": 19, "grade": "2", "sex": "male", "results": {"bmi": 15}}
    lines = [json.dumps(good), json.dumps(bad), json.dumps(missing), '{"id": 20}']
    results = _jsonl(standard, "total", lines)
    # BMI 55/1.65² = 20.2 (normal, 100); every other result is at its 100-point threshold;
    # sit-ups 4 over (+2), 800 m 198 s exactly (no bonus).
    assert results[0].record == {
        "id": 17,
        "standard_score": 100.0,
        "bonus": 2,
        "total": 102.0,
        "level": "excellent",
    }
    assert results[1].record["field"] == "results.run_50m"
    assert results[2].record["field"] == "results.vital_capacity"
    assert "missing item vital_capacity" in str(results[2].record["error"])
    assert results[3].record["field"] == "results"
    assert [r.errors[0].row for r in results[1:]] == [2, 3, 4]


def test_total_reports_every_bad_field_of_a_row(standard: Standard) -> None:
    line = json.dumps(
        {"id": "x", "grade": "14", "sex": "male", "results": {"pull_up": 500, "run50m": 9}}
    )
    (result,) = _jsonl(standard, "total", [line])
    assert {e.column for e in result.errors} == {"grade", "results.pull_up", "results.run50m"}


ROSTER = (
    "id,grade,sex,bmi,vital_capacity,run_50m,sit_and_reach,rope_skip_1min,class\n"
    "s1,1,female,15.5,1400,11.0,18.6,138,1A\n"
    "s2,1,female,15.5,1.4,11.0,18.6,138,1A\n"
    "s3,1,female,15.5,1400,,18.6,138,1A\n"
    "s4,1,female,15.5,1400,11.0,18.6,109,1A\n"
)


def test_total_csv_roster(standard: Standard) -> None:
    columns, rows = run_csv(standard, "total", io.StringIO(ROSTER))
    out = list(rows)
    assert columns == ("id", "standard_score", "bonus", "total", "level", "error", "column")
    # s1: everything at its 100-point threshold; rope skipping 21 over the 100-point count 117.
    assert out[0].record == {
        "id": "s1",
        "standard_score": 100.0,
        "bonus": 10,
        "total": 110.0,
        "level": "excellent",
    }
    assert out[1].record["column"] == "vital_capacity"
    assert "litres" in str(out[1].record["error"])
    assert out[2].record["column"] == "run_50m"
    # s4: rope skipping 109 is the 90 level (×20%): 100 - 2.0.
    assert out[3].record["standard_score"] == 98.0 and out[3].record["bonus"] == 0
    # Spreadsheet rows: the header is row 1.
    assert [(e.row, e.column) for r in out for e in r.errors] == [
        (3, "vital_capacity"),
        (4, "run_50m"),
    ]


def test_score_csv_long_and_roster_forms(standard: Standard) -> None:
    long_form = "id,grade,sex,item,value\na,5,male,shuttle_50x8,1:36\nb,5,male,shuttle_50x8,9\n"
    columns, rows = run_csv(standard, "score", io.StringIO(long_form))
    out = [r.record for r in rows]
    assert columns == ("id", "score", "bonus", "error", "column")
    assert out[0] == {"id": "a", "score": 100, "bonus": 0}
    assert out[1]["column"] == "value" and "minutes" in str(out[1]["error"])

    columns, rows = run_csv(standard, "score", io.StringIO(ROSTER))
    out = [r.record for r in rows]
    assert columns[:3] == ("id", "bmi_score", "bmi_bonus")
    assert out[0]["rope_skip_1min_score"] == 100 and out[0]["rope_skip_1min_bonus"] == 10
    # A bad cell blanks only its own columns; the rest of the row is scored.
    assert "vital_capacity_score" not in out[1] and out[1]["run_50m_score"] == 100
    assert out[1]["column"] == "vital_capacity"
    assert "run_50m_score" not in out[2] and "error" not in out[2]  # blank = not taken


def test_score_csv_bmi_from_height_and_weight(standard: Standard) -> None:
    text = "id,grade,sex,height_cm,weight_kg\na,10,male,170,80\nb,10,male,170,900\n"
    _, rows = run_csv(standard, "score", io.StringIO(text))
    out = [r.record for r in rows]
    assert out[0] == {"id": "a", "bmi_score": 60, "bmi_bonus": 0}  # 27.7: 高一 male obese >= 26.4
    assert out[1]["column"] == "weight_kg"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=8))
def test_fuzz_one_result_per_non_blank_line(lines: list[str]) -> None:
    from gateway.fitness.standard import load_standard

    standard = load_standard()
    for kind in ("score", "total"):
        results = list(run_jsonl(standard, kind, lines))  # type: ignore[arg-type]
        assert len(results) == sum(bool(line.strip()) for line in lines)
        for result in results:
            assert ("error" in result.record) == bool(result.errors)
            assert json.loads(to_json_line(result.record))["id"] == result.record["id"]


def test_numeric_ids_are_written_back_as_numbers(standard: Standard) -> None:
    line = '{"id": 1.5, "grade": "3", "sex": "male", "item": "run_50m", "value": 9.1}'
    (result,) = _jsonl(standard, "score", [line])
    assert to_json_line(result.record) == '{"id": 1.5, "score": 100, "bonus": 0}\n'
    (result,) = _jsonl(standard, "score", [line.replace("1.5", "1.0")])
    assert to_json_line(result.record).startswith('{"id": 1,')


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_csv_never_crashes(text: str) -> None:
    from gateway.fitness.standard import load_standard

    standard = load_standard()
    for kind in ("score", "total"):
        try:
            columns, rows = run_csv(standard, kind, io.StringIO(text))  # type: ignore[arg-type]
        except CsvFormatError as err:
            assert "row 1" in str(err)
            continue
        for result in rows:
            assert set(result.record) <= set(columns)
            assert ("error" in result.record) == bool(result.errors)


def test_decimal_thresholds_are_exact(standard: Standard) -> None:
    # Times typed to 0.1 s in JSON must score their own cell, never fall to the next one.
    checked = 0
    for (item, grade, sex), table in standard.tables.items():
        if item not in ("run_50m", "sit_and_reach"):
            continue
        for level, threshold in zip(standard.score_levels, table.published, strict=True):
            if threshold is None:
                continue
            line = json.dumps({"grade": grade, "sex": sex, "item": item, "value": float(threshold)})
            (result,) = _jsonl(standard, "score", [line])
            assert result.record["score"] == level, (item, grade, sex, threshold)
            checked += 1
    assert checked == 2 * 14 * 2 * 20


def test_broken_csv_stops_with_the_row_named(standard: Standard) -> None:
    text = "id,grade,sex,item,value\na,1,male,run_50m,10\nb\r0,1\nc,1,male,run_50m,10\n"
    _, rows = run_csv(standard, "score", io.StringIO(text))
    first, broken = list(rows)
    assert first.record == {"id": "a", "score": 100, "bonus": 0}
    assert [(e.row, e.column) for e in broken.errors] == [(3, "csv")]


def test_a_row_with_several_bad_fields_names_each(standard: Standard) -> None:
    [result] = _jsonl(
        standard,
        "score",
        ['{"id": "x", "grade": "13", "sex": "boy", "item": "burpees", "value": 3}'],
    )
    assert [e.column for e in result.errors] == ["grade", "sex", "item"]
    assert result.record is not None and result.record["field"] == "grade"
