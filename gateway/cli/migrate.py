"""`campusedge gateway migrate`: bring the state database's schema to this release's head."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from campusedge.words import error_line, error_text
from gateway.cli.common import load_settings, start_failed
from gateway.cli.language import gettext as _
from gateway.migrations import require_head, status
from gateway.service import GatewaySettings, GatewayStartError, open_state
from gateway.state import StateDB, StateDBError, is_sqlite_path

PROG = "campusedge gateway migrate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-db",
        help=_(
            "a SQLite file or a postgresql:// URL (default: $CAMPUSEDGE_STATE_DB, else "
            "var/campusedge/state.db)"
        ),
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help=_("change nothing; exit 1 unless the schema is at this release's head"),
    )


def run(args: argparse.Namespace) -> int:
    try:
        values = {"state_db": args.state_db} if args.state_db else {}
        settings = load_settings(GatewaySettings, {"state_db": "--state-db"}, **values)
        if args.check:
            return _check(settings.state_db)
        db = open_state(settings.state_db, migrate=True)
    except GatewayStartError as exc:
        return start_failed(PROG, exc)
    try:
        print(
            _("state database {where} is at schema revision {revision}").format(
                where=db.where, revision=status(db).current
            )
        )
    finally:
        db.close()
    return 0


def _check(target: str) -> int:
    if is_sqlite_path(target) and not Path(target).is_file():
        # Checking must not leave an empty database behind.
        print(
            _("{prog}: no state database at {path}").format(
                prog=PROG, path=Path(target).absolute()
            ),
            file=sys.stderr,
        )
        return 1
    try:
        db = StateDB(target, migrate=False)
    except StateDBError as exc:
        print(error_line(PROG, error_text(exc)), file=sys.stderr)
        return 1
    try:
        require_head(db)
        print(
            _("state database {where} is at schema revision {revision} (head)").format(
                where=db.where, revision=status(db).current
            )
        )
        return 0
    except StateDBError as exc:
        print(error_line(PROG, error_text(exc)), file=sys.stderr)
        return 1
    finally:
        db.close()
