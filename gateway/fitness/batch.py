"""Whole-school batches: JSON lines or CSV rosters in, one result per row out, bad rows named.

A bad row never stops the batch: it yields an error record in its place (so output stays aligned
with input) and one `RowError` per problem, naming the row and the column or field to fix.
Rows are counted as a person sees them: the line number in a JSON-lines file, the spreadsheet
row in a CSV file (the header is row 1).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal, TextIO, TypeVar

from campusedge.words import Shown
from gateway.fitness.headers import column_id
from gateway.fitness.scoring import TotalScore, bmi_from, score_item, score_total, table_for
from gateway.fitness.standard import ITEM_IDS, ItemId, Sex, Standard
from gateway.fitness.values import (
    FieldError,
    check_unit,
    parse_grade,
    parse_item,
    parse_measure,
    parse_sex,
)
from gateway.i18n import N_

Kind = Literal["score", "total"]
Record = dict[str, object]

BODY_COLUMNS: Final = ("height_cm", "weight_kg")
DERIVED_BMI: Final = "bmi (from height_cm and weight_kg)"
SCORE_CSV_OUT: Final = ("id", "score", "bonus", "error", "column")
TOTAL_CSV_OUT: Final = ("id", "standard_score", "bonus", "total", "level", "error", "column")


class CsvFormatError(Shown, ValueError):
    """A CSV file whose header cannot be read at all."""


@dataclass(frozen=True)
class RowError:
    """One problem in one row, for a person to fix."""

    row: int
    column: str
    id: object
    error: str

    def as_json(self) -> Record:
        return {"row": self.row, "column": self.column, "id": self.id, "error": self.error}


@dataclass(frozen=True)
class RowResult:
    """The output record for one input row, and what was wrong with it (empty when scored)."""

    record: Record
    errors: tuple[RowError, ...]


def _json_default(value: object) -> object:
    # Numbers in the input are read as Decimal for exactness; an id may be one of them.
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def to_json_line(record: Record) -> str:
    """One output or error record as a JSON line (Chinese text kept readable)."""
    return json.dumps(record, ensure_ascii=False, default=_json_default) + "\n"


T = TypeVar("T")


def _present(raw: object) -> bool:
    return raw is not None and not (isinstance(raw, str) and raw.strip() == "")


def _required(record: Mapping[str, object], key: str) -> object:
    raw = record.get(key)
    if not _present(raw):
        raise FieldError(key, f"missing {key}")
    return raw


class FieldErrors(FieldError):
    """Several problems with one record; `problems` has each of them."""

    def __init__(self, problems: list[FieldError]) -> None:
        super().__init__(problems[0].field, "; ".join(p.message for p in problems))
        self.problems = problems


def score_record(standard: Standard, record: Mapping[str, object]) -> Record:
    """`{"id", "grade", "sex", "item", "value"}` -> `{"id", "score", "bonus"}`.

    Raises FieldError, or FieldErrors when grade, sex and item are wrong at once.
    """
    problems: list[FieldError] = []

    def field(parse: Callable[[object], T], key: str) -> T | None:
        try:
            return parse(_required(record, key))
        except FieldError as exc:
            problems.append(exc)
            return None

    grade, sex, item = (
        field(parse_grade, "grade"),
        field(parse_sex, "sex"),
        field(parse_item, "item"),
    )
    if grade is None or sex is None or item is None:
        raise FieldErrors(problems)
    if item != "bmi":
        try:
            table_for(standard, item, grade, sex)  # reported before any problem with the value
        except FieldError as exc:
            raise FieldError("item", exc.message) from None
    if _present(record.get("unit")):
        check_unit(item, record["unit"])
    value = parse_measure(item, _required(record, "value"), field="value")
    result = score_item(standard, item, grade, sex, value)
    return {"id": record.get("id"), "score": result.score, "bonus": result.bonus}


def _total_json(row_id: object, total: TotalScore) -> Record:
    return {
        "id": row_id,
        "standard_score": float(total.standard_score),
        "bonus": total.bonus,
        "total": float(total.total),
        "level": total.level,
    }


def total_record(
    standard: Standard, record: Mapping[str, object], results: Mapping[str, object], prefix: str
) -> tuple[Record | None, list[FieldError]]:
    """Score a whole student; returns the record or every field problem found (named in full)."""
    problems: list[FieldError] = []
    grade: str | None = None
    sex: Sex | None = None
    try:
        grade = parse_grade(_required(record, "grade"))
    except FieldError as exc:
        problems.append(exc)
    try:
        sex = parse_sex(_required(record, "sex"))
    except FieldError as exc:
        problems.append(exc)
    measures: dict[str, Decimal] = {}
    for key, raw in results.items():
        if not _present(raw):
            continue
        if key not in ITEM_IDS and key not in BODY_COLUMNS:
            problems.append(FieldError(prefix + key, f"unknown item {key!r}"))
            continue
        try:
            measures[key] = parse_measure(key, raw, field=prefix + key)
        except FieldError as exc:
            problems.append(exc)
    if problems or grade is None or sex is None:
        return None, problems
    if "bmi" not in measures and all(k in measures for k in BODY_COLUMNS):
        try:
            bmi = bmi_from(measures["height_cm"], measures["weight_kg"])
            measures["bmi"] = parse_measure("bmi", bmi, field=prefix + DERIVED_BMI)
        except FieldError as exc:
            return None, [exc]
    items: dict[ItemId, Decimal] = {}
    for item in ITEM_IDS:
        if item in measures:
            items[item] = measures[item]
    # Every item that is missing or not taken at this grade, not just the first.
    expected = standard.items_for(grade, sex)
    problems = [
        FieldError(prefix + item, f"{item} is not a test item for grade {grade} {sex} students")
        for item in items
        if item not in expected
    ]
    problems += [
        FieldError(prefix + item, f"missing item {item} (grade {grade} {sex} takes it)")
        for item in expected
        if item not in items
    ]
    if problems:
        return None, problems
    try:
        total = score_total(standard, grade, sex, items)
    except FieldError as exc:
        return None, [FieldError(prefix + exc.field, exc.message)]
    return _total_json(record.get("id"), total), []


def _score_row(standard: Standard, row: int, record: Mapping[str, object]) -> RowResult:
    try:
        return RowResult(score_record(standard, record), ())
    except FieldErrors as exc:
        return _failed(row, record.get("id"), exc.problems)
    except FieldError as exc:
        return _failed(row, record.get("id"), [exc])


def _total_row(
    standard: Standard,
    row: int,
    record: Mapping[str, object],
    results: Mapping[str, object],
    prefix: str,
) -> RowResult:
    out, problems = total_record(standard, record, results, prefix)
    if out is None:
        return _failed(row, record.get("id"), problems)
    return RowResult(out, ())


def _failed(row: int, row_id: object, problems: list[FieldError]) -> RowResult:
    first = problems[0]
    errors = tuple(RowError(row, p.field, row_id, p.message) for p in problems)
    return RowResult({"id": row_id, "error": first.message, "field": first.field}, errors)


def run_jsonl(standard: Standard, kind: Kind, lines: Iterable[str]) -> Iterator[RowResult]:
    """One result per non-blank input line, in order (blank lines are skipped)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            yield _failed(number, None, [FieldError("json", f"not valid JSON: {exc.msg}")])
            continue
        if not isinstance(record, dict):
            yield _failed(number, None, [FieldError("json", "expected a JSON object")])
            continue
        if kind == "score":
            yield _score_row(standard, number, record)
            continue
        results = record.get("results")
        if not isinstance(results, dict):
            problem = FieldError("results", "missing results (an object of item: value)")
            yield _failed(number, record.get("id"), [problem])
            continue
        yield _total_row(standard, number, record, results, "results.")


def _roster_score_row(
    standard: Standard, row: int, record: Mapping[str, object], items: tuple[ItemId, ...]
) -> RowResult:
    """Score each filled item cell of one roster row; a bad cell blanks only its own columns."""
    out: Record = {"id": record.get("id")}
    problems: list[FieldError] = []
    grade: str = ""
    sex: Sex = "male"
    try:
        grade = parse_grade(_required(record, "grade"))
        sex = parse_sex(_required(record, "sex"))
    except FieldError as exc:
        problems.append(exc)
        items = ()
    values: dict[str, object] = {item: record.get(item) for item in items}
    if "bmi" in values and not _present(values["bmi"]):
        try:
            values["bmi"] = _bmi_from_columns(record)
        except FieldError as exc:
            problems.append(exc)
    for item in items:
        raw = values[item]
        if not _present(raw):
            continue
        try:
            if item != "bmi":
                table_for(standard, item, grade, sex)
            value = parse_measure(item, raw)
            result = score_item(standard, item, grade, sex, value)
        except FieldError as exc:
            problems.append(exc)
            continue
        out[f"{item}_score"] = result.score
        out[f"{item}_bonus"] = result.bonus
    if problems:
        out["error"] = problems[0].message
        out["column"] = problems[0].field
    errors = tuple(RowError(row, p.field, record.get("id"), p.message) for p in problems)
    return RowResult(out, errors)


def _bmi_from_columns(record: Mapping[str, object]) -> Decimal | None:
    """BMI from the height_cm and weight_kg columns when both are filled, else None."""
    height, weight = record.get("height_cm"), record.get("weight_kg")
    if not (_present(height) and _present(weight)):
        return None
    bmi = bmi_from(parse_measure("height_cm", height), parse_measure("weight_kg", weight))
    return parse_measure("bmi", bmi, field=DERIVED_BMI)


def _as_csv(result: RowResult, columns: tuple[str, ...]) -> RowResult:
    record = result.record
    if "error" in record and "field" in record:
        record = {"id": record["id"], "error": record["error"], "column": record["field"]}
    return RowResult({k: v for k, v in record.items() if k in columns}, result.errors)


def header_ids(written: Sequence[str]) -> tuple[str, ...]:
    """Our column ids for a results file's header row: Chinese headers (学号, 性别, 1分钟跳绳,
    ...) as the 2014 standard names the items, or our ids; CsvFormatError without an id column."""
    header = tuple(column_id(name) for name in written)
    if "id" not in header:
        # Without it every result would be nobody's: refuse the file, not each row.
        if not written:
            raise CsvFormatError(
                N_(
                    "row 1 (header): no id column; name the students' column id, 学号 or "
                    "学籍号 (the header is empty)"
                ),
                catalog=True,
            )
        raise CsvFormatError(
            N_(
                "row 1 (header): no id column; name the students' column id, 学号 or 学籍号 "
                "(the header has: {columns})"
            ),
            columns=", ".join(written),
        )
    return header


def run_csv(
    standard: Standard, kind: Kind, stream: TextIO
) -> tuple[tuple[str, ...], Iterator[RowResult]]:
    """The output columns and one result per data row of a CSV file with a header row.

    `score` reads either the long form (id, grade, sex, item, value) or a roster with one column
    per item, answered with `<item>_score` and `<item>_bonus` columns; `total` reads a roster.
    """
    reader = csv.DictReader(stream)
    try:
        written = tuple(reader.fieldnames or ())
    except csv.Error as exc:
        raise CsvFormatError(
            N_("row 1 (header): not readable as CSV: {reason}"), reason=exc
        ) from None
    header = header_ids(written)
    reader.fieldnames = list(header)
    roster_items = tuple(
        item
        for item in ITEM_IDS
        if item in header or (item == "bmi" and all(c in header for c in BODY_COLUMNS))
    )
    long_form = kind == "score" and "item" in header
    columns: tuple[str, ...]
    if kind == "total":
        columns = TOTAL_CSV_OUT
    elif long_form:
        columns = SCORE_CSV_OUT
    else:
        scored = tuple(f"{item}_{part}" for item in roster_items for part in ("score", "bonus"))
        columns = ("id", *scored, "error", "column")

    def rows() -> Iterator[RowResult]:
        number = 1
        while True:
            number += 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # The file's structure is broken here; nothing after this point can be trusted
                # to line up with its columns, so the batch reports it and stops.
                problem = FieldError("csv", f"not readable as CSV, stopped here: {exc}")
                yield _as_csv(_failed(number, None, [problem]), columns)
                return
            # Cells beyond the header land under the key None; they are not ours to read.
            record: Record = {k.strip(): v for k, v in row.items() if isinstance(k, str)}
            if kind == "total":
                cells = {k: v for k, v in record.items() if k in ITEM_IDS or k in BODY_COLUMNS}
                result = _total_row(standard, number, record, cells, "")
            elif long_form:
                result = _score_row(standard, number, record)
            else:
                result = _roster_score_row(standard, number, record, roster_items)
            yield _as_csv(result, columns)

    return columns, rows()
