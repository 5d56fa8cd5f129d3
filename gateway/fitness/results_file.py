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
from gateway.fitness.headers import column_id
from gateway.i18n import N_, Worded
from gateway.roster import MIXED_ENCODINGS, MixedEncoding, RosterError, decode_csv

# An XLSX file is a zip archive.
_ZIP = b"PK\x03\x04"
MAX_ROWS = 5000


class ResultsFileError(Worded, ValueError):
    """A results file that cannot be read at all (nothing of it is taken), worded so that the
    page says why in its reader's language. (Not a batch CsvFormatError, which words itself
    otherwise: read_results_file turns one into this.)"""


@dataclass(frozen=True)
class Row:
    """One data row: its number as the spreadsheet shows it (header = 1), cells by column id."""

    number: int
    cells: dict[str, object]


def _xlsx_rows(data: bytes) -> Iterator[list[object]]:
    try:
        book = load_workbook(io.BytesIO(data), data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ResultsFileError(N_("not a readable XLSX file: {problem}"), problem=exc) from None
    sheet = book.worksheets[0]
    merged = [str(r) for r in sheet.merged_cells.ranges]
    if merged:
        # A merged cell holds its value in its first cell only: the other rows would be read
        # as blank, or as another student's. Refused, naming where.
        raise ResultsFileError(
            N_(
                "merged cells at {cells}: unmerge them so that every row has its own student "
                "and values"
            ),
            cells=", ".join(merged[:5]),
        )
    for values in sheet.iter_rows(values_only=True):
        yield ["" if v is None else v for v in values]


def _mixed_header(data: bytes) -> tuple[int, int] | None:
    """(1, the first line UTF-8 cannot read) when the header row is UTF-8 and names our columns
    but the rest is not: a class's GBK rows pasted under a UTF-8 template. GB18030 reads such a
    header too, as other characters, so `mixed_lines` cannot tell."""
    lines = data.split(b"\n")
    try:
        header = lines[0].decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if lines[0].isascii() or "id" not in {column_id(h) for h in header.split(",")}:
        return None
    for number, line in enumerate(lines[1:], start=2):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return 1, number
    return None


def _csv_rows(data: bytes) -> Iterator[list[object]]:
    try:
        text, encoding = decode_csv(data)
    except MixedEncoding as exc:
        raise ResultsFileError(exc.message, **exc.values) from None
    except RosterError as exc:
        raise ResultsFileError(
            N_(
                "the results file is neither UTF-8 nor GBK/GB18030 (undecodable byte at offset "
                "{offset}): save it again as UTF-8 or GBK"
            ),
            offset=exc.values.get("offset"),
        ) from None
    mixed = _mixed_header(data) if encoding != "utf-8" else None
    if mixed is not None:
        raise ResultsFileError(MIXED_ENCODINGS, utf8_line=mixed[0], other_line=mixed[1])
    try:
        yield from csv.reader(io.StringIO(text, newline=""))
    except csv.Error as exc:
        raise ResultsFileError(N_("not readable as CSV: {problem}"), problem=exc) from None


def read_results_file(data: bytes) -> tuple[tuple[str, ...], list[Row]]:
    """(column ids, data rows) of a CSV or XLSX results file; ResultsFileError if unreadable."""
    source = _xlsx_rows(data) if data.startswith(_ZIP) else _csv_rows(data)
    try:
        written = next(source)
    except StopIteration:
        raise ResultsFileError(N_("the file is empty: row 1 should be the header")) from None
    try:
        header = header_ids([str(h) for h in written])
    except CsvFormatError:
        raise ResultsFileError(
            N_(
                "row 1 (header): no id column; name the students' column id, 学号 or 学籍号 "
                "(the header has: {header})"
            ),
            header=", ".join(str(h) for h in written),
        ) from None
    rows: list[Row] = []
    for number, values in enumerate(source, start=2):
        if not any(str(v).strip() for v in values):
            continue  # a blank line between classes, or the sheet's empty tail
        if len(rows) == MAX_ROWS:
            raise ResultsFileError(
                N_("more than {limit} rows: one class's file at a time"), limit=MAX_ROWS
            )
        cells = {
            column: value.strip() if isinstance(value, str) else value
            for column, value in zip(header, values, strict=False)
        }
        rows.append(Row(number, cells))
    return header, rows
