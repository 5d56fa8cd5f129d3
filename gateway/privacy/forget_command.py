"""`campusedge student forget`: erase one student's personal data from state and readings."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from campusedge.words import error_line
from gateway.auth import Role, User
from gateway.backup.postgres import redact
from gateway.cli.common import load_settings
from gateway.cli.language import gettext as _
from gateway.cli.language import translator
from gateway.privacy.forget import forget_in_state, forget_readings
from gateway.service import GatewaySettings, GatewayStartError, commit_log_beside, open_state
from gateway.store.base import StoreError
from gateway.store.commit_log import CommitLog
from gateway.store.factory import open_store

PROG = "campusedge student forget"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("student_id", help=_("the student's id in the roster"))
    parser.add_argument(
        "--state-db",
        metavar="PATH_OR_URL",
        help=_("the state database (default CAMPUSEDGE_STATE_DB, as for `gateway run`)"),
    )
    parser.add_argument("--store-url", help=_("the readings store (default CAMPUSEDGE_STORE_URL)"))
    parser.add_argument(
        "--db", type=Path, help=_("SQLite readings file (shortcut for --store-url)")
    )
    parser.add_argument(
        "--commit-log", type=Path, help=_("the commit log (default: as `gateway run` finds it)")
    )
    parser.add_argument(
        "--yes", action="store_true", help=_("do it: without --yes, only say what would happen")
    )


def run(args: argparse.Namespace) -> int:
    overrides: dict[str, object] = {}
    if args.state_db:
        overrides["state_db"] = args.state_db
    if args.db is not None:
        overrides["store_url"] = f"sqlite:///{args.db}"
    elif args.store_url:
        overrides["store_url"] = args.store_url
    try:
        settings = load_settings(GatewaySettings, {}, **overrides)
    except GatewayStartError as exc:
        print(error_line(PROG, exc.words(translator())), file=sys.stderr)
        return 2
    if not args.yes:
        print(
            _(
                "would remove every record of student {student!r} from {state} and {store}, "
                "and name them in the audit log by a pseudonym only; this cannot be undone. "
                "Run again with --yes"
            ).format(
                student=args.student_id,
                state=redact(str(settings.state_db)),  # a PostgreSQL URL may hold a password
                store=settings.store_url.split("@")[-1],
            )
        )
        return 2
    operator = User(f"cli:{getpass.getuser()}", "command line", Role.CAMPUS_IT)
    try:
        db = open_state(settings.state_db)
    except GatewayStartError as exc:
        print(error_line(PROG, exc.words(translator())), file=sys.stderr)
        return 1
    try:
        # The readings first: should they fail, the roster still knows the student and the
        # command can be run again; the other way round nothing would name what is left.
        password = settings.store_password
        store = open_store(settings.store_url, password.get_secret_value() if password else None)
        log_path = args.commit_log or settings.commit_log or commit_log_beside(settings.state_db)
        log = CommitLog(log_path) if Path(log_path).exists() else None
        try:
            readings = forget_readings(store, log, args.student_id)
        finally:
            store.close()
            if log is not None:
                log.close()
        done = forget_in_state(db, args.student_id, operator)
    except StoreError as exc:
        print(
            _("{prog}: {error}; nothing was removed from the state, run it again").format(
                prog=PROG, error=exc.words(translator())
            ),
            file=sys.stderr,
        )
        return 1
    finally:
        db.close()
    done.removed.update({f"readings store: {k}": v for k, v in readings.items()})
    if not done.found:
        print(
            _("{prog}: no record of student {student!r} found; nothing removed").format(
                prog=PROG, student=args.student_id
            )
        )
        return 1
    print(
        _("forgot student {student!r}: {summary}").format(
            student=args.student_id, summary=done.summary()
        )
    )
    print(_("the audit log now names them {pseudonym}").format(pseudonym=done.pseudonym))
    return 0
