"""`campusedge gateway repair`: check the state database; with --salvage, rebuild a damaged one."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from pathlib import Path

from campusedge import sqlite_salvage
from campusedge.sqlite_salvage import Salvage
from campusedge.words import error_line, error_text
from gateway.cli.language import gettext as _
from gateway.repair import rebuild

PROG = "campusedge gateway repair"
DEFAULT_STATE_DB = "var/campusedge/state.db"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-db",
        type=Path,
        help="the gateway's state database "
        f"(default: $CAMPUSEDGE_STATE_DB, else {DEFAULT_STATE_DB})",
    )
    parser.add_argument(
        "--salvage",
        action="store_true",
        help=_(
            "when it is damaged: move it aside (<name>.damaged-<time>) and rebuild it from "
            "the rows that still read. Stop the gateway first"
        ),
    )


def run(args: argparse.Namespace) -> int:
    path: Path = args.state_db or Path(os.environ.get("CAMPUSEDGE_STATE_DB") or DEFAULT_STATE_DB)
    if not path.is_file():
        print(
            _("{prog}: no state database file at {path} (name it with --state-db)").format(
                prog=PROG, path=path
            ),
            file=sys.stderr,
        )
        return 2
    try:
        problem = sqlite_salvage.check(path)
    except sqlite3.Error as exc:
        print(
            _("{prog}: cannot read {path}: {reason} (is the gateway running?)").format(
                prog=PROG, path=path, reason=exc
            ),
            file=sys.stderr,
        )
        return 1
    if problem is None:
        print(_("{path}: sound, nothing to repair").format(path=path))
        return 0
    print(_("{path}: damaged: {problem}").format(path=path, problem=problem))
    if not args.salvage:
        print(_("run again with --salvage to move it aside and rebuild it from what still reads"))
        return 1
    try:
        done = rebuild(path)
    except (OSError, ValueError, sqlite3.Error) as exc:
        print(error_line(PROG, error_text(exc)), file=sys.stderr)
        return 1
    print(_("kept the damaged file as {path}").format(path=done.moved_to))
    print(_("rebuilt {path}: {summary}").format(path=path, summary=_summary(done.salvage)))
    for name, table in sorted(done.salvage.tables.items()):
        if table.read_errors:
            print(
                _("  {table}: {rows} rows, {skipped} damaged places skipped").format(
                    table=name, rows=table.rows, skipped=table.read_errors
                )
            )
    if done.foreign_key_problems:
        print(
            _(
                "  {count} rows refer to rows that were lost (PRAGMA foreign_key_check lists them)"
            ).format(count=done.foreign_key_problems)
        )
    return 0 if done.salvage.schema_readable else 1


def _summary(salvage: Salvage) -> str:
    """Salvage.summary() in the reader's language (the English one goes to logs and records)."""
    if not salvage.schema_readable:
        return _("nothing readable ({error})").format(error=salvage.error)
    parts = _(", ").join(f"{name} {t.rows}" for name, t in sorted(salvage.tables.items()))
    text = _("{rows} rows recovered ({tables})").format(
        rows=salvage.rows, tables=parts or _("no tables")
    )
    return text + _("; the file header was rebuilt") if salvage.header_rebuilt else text
