"""A class's results as a table: one row per student, written as CSV or XLSX.

Columns: student_id, [name], sex, then per item `<item>`, `<item>_score`, `<item>_bonus`
(height_cm and weight_kg first, values only), then standard_score, bonus, total, level. In
Chinese (zh_CN) the headers, levels and sexes are the standard's words (学号, 50米跑,
50米跑得分, 等级: 优秀), from gateway/fitness/headers.py, which also reads them back.
CSV is UTF-8 with a byte-order mark so that Excel shows Chinese names correctly.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Final

from openpyxl import Workbook

from gateway.fitness.headers import LEVEL_NAMES, SEX_NAMES, chinese_column
from gateway.fitness.standard import ItemId
from gateway.fitness.summary import StudentSummary

Cell = str | int | float | None
MEASUREMENT_COLUMNS: Final = ("height_cm", "weight_kg")


def table(
    summaries: list[StudentSummary], items: list[ItemId], with_names: bool, language: str = "en"
) -> tuple[list[str], list[list[Cell]]]:
    """The header and rows; *language* zh_CN writes them in Chinese, en as our column ids."""
    chinese = language == "zh_CN"
    header = ["student_id", *(["name"] if with_names else []), "sex", *MEASUREMENT_COLUMNS]
    for item in items:
        header += [item, f"{item}_score", f"{item}_bonus"]
    header += ["standard_score", "bonus", "total", "level"]
    rows: list[list[Cell]] = []
    for s in summaries:
        sex = SEX_NAMES.get(s.student.sex, s.student.sex) if chinese else s.student.sex
        row: list[Cell] = [s.student.id, *([s.student.name] if with_names else []), sex]
        for name in MEASUREMENT_COLUMNS:
            held = s.items.get(name)
            row.append(_number(held.value) if held else None)
        for item in items:
            result = s.items.get(item)
            row += (
                [_number(result.value), result.score, result.bonus]
                if result
                else [None, None, None]
            )
        total = s.total
        level = (LEVEL_NAMES[total.level] if chinese else total.level) if total else None
        row += (
            [_number(total.standard_score), total.bonus, _number(total.total), level]
            if total
            else [None, None, None, None]
        )
        rows.append(row)
    return ([chinese_column(c) for c in header] if chinese else header), rows


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def to_csv(header: list[str], rows: list[list[Cell]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if c is None else c for c in row] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(header: list[str], rows: list[list[Cell]], title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    # Excel refuses these characters in a sheet name, and names longer than 31 characters.
    sheet.title = "".join("_" if c in "[]:*?/\\" else c for c in title)[:31] or "results"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    sheet.freeze_panes = "B2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
