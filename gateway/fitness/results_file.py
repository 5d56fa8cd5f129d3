"""A class's results file (CSV in UTF-8 or GBK, or XLSX) read into rows of our column ids.

The header row is read as `campusedge fitness` reads it (`batch.header_ids`: the standard's
Chinese item names or our ids; 学号/姓名/性别/年级/班级), and a CSV is decoded as the roster
import decodes it (UTF-8 with or without a byte-order mark, else GB18030).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from zipfile import BadZipFile

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from gateway.fitness.batch import CsvFormatError, header_ids
from gateway.roster import RosterError, decode_csv

# An XLSX file is a zip archive.
_ZIP = b"PK\x03\x04"
MAX_ROWS = 5000


class ResultsFileError(CsvFormatError):
    """A results file that cannot be read at all (nothing of it is taken)."""


@dataclass(frozen=True)
class Row:
    """One data row: its number as the spreadsheet shows it (header = 1), cells by column id."""

    number: int
    cells: dict[str, object]


def _xlsx_rows(data: bytes) -> Iterator[list[object]]:
    try:
        book = load_workbook(io.BytesIO(data), data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ResultsFileError(f"not a readable XLSX file: {exc}") from None
    sheet = book.worksheets[0]
    merged = [str(r) for r in sheet.merged_cells.ranges]
    if merged:
        # A merged cell holds its value in its first cell only: the other rows would be read
        # as blank, or as another student's. Refused, naming where.
        raise ResultsFileError(
            f"merged cells at {', '.join(merged[:5])}: unmerge them so that every row has its "
            "own student and values"
        )
    for values in sheet.iter_rows(values_only=True):
        yield ["" if v is None else v for v in values]


def _csv_rows(data: bytes) -> Iterator[list[object]]:
    try:
        text, _encoding = decode_csv(data)
    except RosterError as exc:
        raise ResultsFileError(str(exc).replace("roster CSV", "the results file")) from None
    try:
        yield from csv.reader(io.StringIO(text, newline=""))
    except csv.Error as exc:
        raise ResultsFileError(f"not readable as CSV: {exc}") from None


def read_results_file(data: bytes) -> tuple[tuple[str, ...], list[Row]]:
    """(column ids, data rows) of a CSV or XLSX results file; ResultsFileError if unreadable."""
    source = _xlsx_rows(data) if data.startswith(_ZIP) else _csv_rows(data)
    try:
        written = next(source)
    except StopIteration:
        raise ResultsFileError("the file is empty: row 1 should be the header") from None
    header = header_ids([str(h) for h in written])
    rows: list[Row] = []
    for number, values in enumerate(source, start=2):
        if not any(str(v).strip() for v in values):
            continue  # a blank line between classes, or the sheet's empty tail
        if len(rows) == MAX_ROWS:
            raise ResultsFileError(f"more than {MAX_ROWS} rows: one class's file at a time")
        cells = {
            column: value.strip() if isinstance(value, str) else value
            for column, value in zip(header, values, strict=False)
        }
        rows.append(Row(number, cells))
    return header, rows
