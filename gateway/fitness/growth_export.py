"""A class's growth records as a table: one row per student, four columns per school year.

Columns: student_id, [name], sex, then per school year Y (oldest first) `Y_grade`, `Y_total`,
`Y_level`, `Y_change` (the total against school year Y-1; empty when either has none). A year
a student has no total for is empty, never 0. In Chinese (zh_CN) the headers read
"2024-2025学年总分" and levels and grades are the standard's words (优秀, 三年级).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from gateway.fitness.export import Cell
from gateway.fitness.growth import GrowthRecord
from gateway.fitness.headers import COLUMN_NAMES, GRADE_NAMES, LEVEL_NAMES, SEX_NAMES

YEAR_COLUMNS: Final = ("grade", "total", "level", "change")
_YEAR_COLUMN_NAMES: Final = {"grade": "年级", "total": "总分", "level": "等级", "change": "较上年"}
GRADE_WORDS: Final = {grade: words for words, grade in GRADE_NAMES.items()}


def _number(value: Decimal | None) -> Cell:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def growth_table(
    records: list[GrowthRecord], with_names: bool, language: str = "en"
) -> tuple[list[str], list[list[Cell]]]:
    chinese = language == "zh_CN"
    years = sorted({y.year for r in records for y in r.years})
    header = ["student_id", *(["name"] if with_names else []), "sex"]
    if chinese:
        header = [COLUMN_NAMES[c] for c in header]
    for year in years:
        for column in YEAR_COLUMNS:
            header.append(
                f"{year}-{year + 1}学年{_YEAR_COLUMN_NAMES[column]}"
                if chinese
                else f"{year}_{column}"
            )
    rows: list[list[Cell]] = []
    for record in records:
        s = record.student
        sex = SEX_NAMES.get(s.sex, s.sex) if chinese else s.sex
        row: list[Cell] = [s.id, *([s.name] if with_names else []), sex]
        held = {y.year: y for y in record.years}
        for year in years:
            entry = held.get(year)
            if entry is None:
                row += [None] * len(YEAR_COLUMNS)
                continue
            grade = entry.grade
            total = entry.total
            level = None if total is None else total.level
            row += [
                (GRADE_WORDS.get(grade, grade) if chinese else grade) if grade else None,
                _number(total.total) if total else None,
                (LEVEL_NAMES[level] if chinese else level) if level else None,
                _number(entry.change_total),
            ]
        rows.append(row)
    return header, rows
