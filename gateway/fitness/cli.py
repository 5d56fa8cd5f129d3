"""The `campusedge fitness score|total` commands: batch files in, results out, errors on stderr."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from campusedge.words import error_line, error_text
from gateway.cli.language import gettext as _
from gateway.fitness.batch import (
    CsvFormatError,
    Kind,
    RowResult,
    run_csv,
    run_jsonl,
    to_json_line,
)
from gateway.fitness.standard import load_standard
from gateway.roster import RosterError, decode_csv

_FORMATS = {
    "score": (
        '{"id", "grade", "sex", "item", "value"}',
        '{"id", "score", "bonus"}',
    ),
    "total": (
        '{"id", "grade", "sex", "results": {item: value}}',
        '{"id", "standard_score", "bonus", "total", "level"}',
    ),
}


def add_arguments(parser: argparse.ArgumentParser, kind: Kind) -> None:
    """Options shared by both commands."""
    line_in, line_out = _FORMATS[kind]
    parser.epilog = _(
        "JSON lines in: {line_in} per line; out: {line_out} per line, in order. A bad row is "
        'replaced by {{"id", "error", "field"}} and also reported on stderr as a JSON line '
        "naming row and column; the exit code is then 1. See docs/fitness.md."
    ).format(line_in=line_in, line_out=line_out)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--batch", metavar="FILE", help=_("JSON lines input ('-' for stdin)"))
    source.add_argument(
        "--csv", metavar="FILE", help=_("CSV input with a header row ('-' for stdin)")
    )
    parser.add_argument("--out", metavar="FILE", help=_("write results here (default: stdout)"))


@contextmanager
def _open_in(name: str, *, spreadsheet: bool = False) -> Iterator[TextIO]:
    if spreadsheet:
        # A CSV from a spreadsheet: read whole and decoded as the roster import decodes it
        # (UTF-8 with or without a byte-order mark, else GB18030, Excel's default on Chinese
        # Windows), so that the same file works for both.
        buffer = getattr(sys.stdin, "buffer", None) if name == "-" else None
        if name == "-" and buffer is None:  # already text (an embedding program's stream)
            yield io.StringIO(sys.stdin.read().removeprefix("\ufeff"), newline="")
            return
        data = buffer.read() if buffer is not None else Path(name).read_bytes()
        try:
            text, _ = decode_csv(data)
        except RosterError as exc:
            raise CsvFormatError(str(exc).replace("roster CSV", "the CSV")) from None
        yield io.StringIO(text, newline="")
        return
    if name == "-":
        # Read stdin as files are read, with utf-8-sig: a byte-order mark would otherwise
        # be read as part of the first line.
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is None:  # already text (an embedding program's stream)
            yield io.StringIO(sys.stdin.read().removeprefix("\ufeff"))
            return
        stream = io.TextIOWrapper(buffer, encoding="utf-8-sig", newline="")
        try:
            yield stream
        finally:
            stream.detach()  # leave sys.stdin's buffer open for whoever owns it
        return
    with Path(name).open(encoding="utf-8-sig", newline="") as stream:
        yield stream


@contextmanager
def _open_out(name: str | None) -> Iterator[TextIO]:
    if name is None or name == "-":
        yield sys.stdout
        return
    with Path(name).open("w", encoding="utf-8", newline="") as stream:
        yield stream


def _report(result: RowResult, errors: TextIO) -> bool:
    for error in result.errors:
        errors.write(to_json_line(error.as_json()))
    return not result.errors


def cannot_read_or_write(prog: str, exc: OSError) -> str:
    """One line for a file that cannot be used; the system's reason is its own words."""
    if exc.filename is None:
        return _("{prog}: cannot read or write: {reason}").format(prog=prog, reason=exc)
    return _("{prog}: cannot read or write {path}: {reason}").format(
        prog=prog, path=exc.filename, reason=exc.strerror or exc
    )


def run_kind(args: argparse.Namespace, kind: Kind) -> int:
    """Score a batch; 0 if every row scored, 1 if any row failed, 2 if the input can't be read."""
    standard = load_standard()
    all_good = True
    try:
        source_name, spreadsheet = args.csv or args.batch, bool(args.csv)
        with _open_in(source_name, spreadsheet=spreadsheet) as source, _open_out(args.out) as out:
            if args.csv:
                columns, results = run_csv(standard, kind, source)
                writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
                writer.writeheader()
                for result in results:
                    writer.writerow(result.record)
                    all_good &= _report(result, sys.stderr)
            else:
                for result in run_jsonl(standard, kind, source):
                    out.write(to_json_line(result.record))
                    all_good &= _report(result, sys.stderr)
    except OSError as exc:
        print(cannot_read_or_write(f"campusedge fitness {kind}", exc), file=sys.stderr)
        return 2
    except CsvFormatError as exc:
        print(error_line(f"campusedge fitness {kind}", error_text(exc)), file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(
            _("{prog}: input is not UTF-8 text: {reason}").format(
                prog=f"campusedge fitness {kind}", reason=exc
            ),
            file=sys.stderr,
        )
        return 2
    return 0 if all_good else 1
