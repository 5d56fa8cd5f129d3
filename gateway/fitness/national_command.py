"""`campusedge fitness export-national`: a school year's upload file for the national platform."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from campusedge.words import error_line, error_text
from gateway.cli.language import gettext as _
from gateway.cli.language import translator
from gateway.fitness.national_export import build, to_xlsx, with_registry_problems
from gateway.fitness.national_registry import (
    RegistryEntry,
    RegistryError,
    RegistryProblem,
    read_registry,
)
from gateway.fitness.national_template import TemplateError, load_template
from gateway.fitness.standard import load_standard
from gateway.i18n import N_
from gateway.roster import Roster
from gateway.state import StateDB, StateDBError, is_sqlite_path

PROG = "campusedge fitness export-national"
DEFAULT_STATE_DB = "var/campusedge/state.db"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = _(
        "Writes the upload sheet and a second sheet listing every student left out, with the "
        "row and column to fix (also on stderr). Exit 0: every student written; 1: some left "
        "out (the file holds the others); 2: nothing written. See docs/fitness.md."
    )
    parser.add_argument("--school", required=True, help=_("the school id of the roster's classes"))
    parser.add_argument(
        "--year",
        required=True,
        type=int,
        help=_("school year by its first calendar year: 2025 is 1 Sep 2025 to 31 Aug 2026"),
    )
    parser.add_argument(
        "--out", required=True, metavar="FILE.xlsx", help=_("the workbook to write")
    )
    parser.add_argument(
        "--registry",
        metavar="FILE.csv",
        help=_(
            "each student's 学籍号 and 民族 (columns 学号,学籍号,民族), which the roster "
            "does not hold"
        ),
    )
    parser.add_argument(
        "--template-config",
        metavar="FILE.yaml",
        help=_("keys that replace the packaged template's (columns, codes, formats)"),
    )
    parser.add_argument(
        "--state-db",
        help=_(
            "the gateway's state database, a file or a postgresql:// URL (default: "
            "$CAMPUSEDGE_STATE_DB, else {default})"
        ).format(default=DEFAULT_STATE_DB),
    )


def _fail(message: str) -> int:
    print(error_line(PROG, message), file=sys.stderr)
    return 2


def _state_target(given: str | None) -> str:
    target = given or os.environ.get("CAMPUSEDGE_STATE_DB") or DEFAULT_STATE_DB
    if is_sqlite_path(target) and not Path(target).is_file():
        # Opening would create an empty database and export an empty school.
        raise StateDBError(
            N_(
                "no state database at {path}: name the gateway's with --state-db or "
                "CAMPUSEDGE_STATE_DB"
            ),
            path=Path(target).absolute(),
        )
    return target


def run(args: argparse.Namespace) -> int:
    if not 2000 <= args.year <= 2100:
        return _fail(
            _("--year {year}: give the school year's first calendar year, e.g. 2025").format(
                year=args.year
            )
        )
    out = Path(args.out)
    if out.suffix.lower() != ".xlsx":
        return _fail(
            _("--out {path}: the platform imports .xlsx workbooks; name it FILE.xlsx").format(
                path=out
            )
        )
    try:
        template = load_template(Path(args.template_config) if args.template_config else None)
    except TemplateError as exc:
        return _fail(error_text(exc))
    registry: dict[str, RegistryEntry] = {}
    registry_problems: list[RegistryProblem] = []
    if args.registry:
        try:
            registry, registry_problems = read_registry(
                Path(args.registry).read_bytes(), template.ethnicity_codes
            )
        except OSError as exc:
            return _fail(
                _("--registry {path}: cannot read: {reason}").format(
                    path=args.registry, reason=exc.strerror or exc
                )
            )
        except RegistryError as exc:
            return _fail(f"--registry {args.registry}: {error_text(exc)}")
    try:
        db = StateDB(_state_target(args.state_db), migrate=False)
    except StateDBError as exc:
        return _fail(error_text(exc))
    try:
        roster = Roster(db)
        if not roster.has_school(args.school):
            return _fail(
                _("no class of school {school!r} on the roster").format(school=args.school)
            )
        export = build(db, roster, load_standard(), template, args.school, args.year, registry)
    finally:
        db.close()
    with_registry_problems(export, registry_problems, str(args.registry))
    for p in export.problems:
        print(p.words(translator()), file=sys.stderr)
    try:
        out.write_bytes(to_xlsx(export, template))
    except OSError as exc:
        return _fail(
            _("--out {path}: cannot write: {reason}").format(path=out, reason=exc.strerror or exc)
        )
    print(
        _("{path}: {written} students written, {left_out} left out (see sheet {sheet!r})").format(
            path=out,
            written=len(export.rows),
            left_out=export.left_out,
            sheet=template.problems_sheet_title,
        ),
        file=sys.stderr,
    )
    return 1 if export.left_out else 0
