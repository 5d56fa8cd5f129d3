"""`campusedge audit export`: the audit log of a time range as CSV; the export is audited too."""

from __future__ import annotations

import argparse
import csv
import getpass
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from campusedge.words import error_line, error_text
from gateway.audit import AuditFilter, AuditLog
from gateway.auth import Role, User
from gateway.cli.language import gettext as _
from gateway.cli.user import DEFAULT_STATE_DB
from gateway.state import StateDB, StateDBError, is_sqlite_path

PROG = "campusedge audit export"
COLUMNS = ["id", "at", "user_id", "role", "action", "subject_type", "subject_id", "detail"]
PAGE = 5000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since",
        required=True,
        help=_(
            "from this time (ISO 8601: 2026-12-01 or 2026-12-01T08:00+08:00; without an "
            "offset, this machine's local time)"
        ),
    )
    parser.add_argument("--until", help=_("up to this time, exclusive (default: now)"))
    parser.add_argument("--student", help=_("only reads of this student id"))
    parser.add_argument("--user", help=_("only reads by this user id"))
    parser.add_argument("--out", type=Path, required=True, help=_("the CSV file to write (0600)"))
    parser.add_argument(
        "--state-db",
        help=f"the gateway's state database (default: $CAMPUSEDGE_STATE_DB, else "
        f"{DEFAULT_STATE_DB})",
    )


def say(text: str) -> None:
    print(text, file=sys.stderr)


def parse_time(text: str, option: str) -> datetime:
    """An ISO date or time; without an offset, local time (as a person at the machine means)."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            _(
                "{option} {text!r}: not an ISO 8601 date or time "
                "(2026-12-01, 2026-12-01T08:00+08:00)"
            ).format(option=option, text=text)
        ) from None
    return at.astimezone() if at.tzinfo is None else at


def exporter() -> User:
    """Who is recorded as reading the log: the operating-system account running the export
    (the CLI has no API token; whoever can run it against the state database can read it)."""
    login = getpass.getuser()
    return User(f"os:{login}", login, Role.AUDITOR)


def run(args: argparse.Namespace) -> int:
    try:
        since = parse_time(args.since, "--since")
        until = parse_time(args.until, "--until") if args.until else datetime.now(UTC)
    except ValueError as exc:
        say(error_line(PROG, error_text(exc)))
        return 2
    if until <= since:
        say(
            _("{prog}: --until ({until}) must be after --since ({since})").format(
                prog=PROG, until=until.isoformat(), since=since.isoformat()
            )
        )
        return 2
    target = args.state_db or os.environ.get("CAMPUSEDGE_STATE_DB") or DEFAULT_STATE_DB
    if is_sqlite_path(target) and not Path(target).is_file():
        say(
            _("{prog}: no state database at {path}: name it with --state-db").format(
                prog=PROG, path=Path(target).absolute()
            )
        )
        return 2
    try:
        db = StateDB(target)
    except StateDBError as exc:
        say(error_line(PROG, error_text(exc)))
        return 2
    try:
        where = AuditFilter(student_id=args.student, user_id=args.user, since=since, until=until)
        return _export(AuditLog(db), where, args.out)
    finally:
        db.close()


def _export(audit: AuditLog, where: AuditFilter, out: Path) -> int:
    partial = out.with_name(out.name + ".partial")
    count = 0
    try:
        # Owner-only from the first byte: the file says who read which student's data.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        say(
            _("{prog}: cannot write {path}: {reason}").format(
                prog=PROG, path=partial, reason=exc.strerror
            )
        )
        return 2
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write("\ufeff")  # so that spreadsheet programs read the file as UTF-8
            writer = csv.writer(f, lineterminator="\r\n")
            writer.writerow(COLUMNS)
            before: int | None = None
            while True:
                page = audit.find(where, before_id=before, limit=PAGE)
                for e in page:
                    writer.writerow(
                        [
                            e.id,
                            e.at.isoformat(),
                            e.user_id,
                            e.role,
                            e.action,
                            e.subject_type,
                            _cell(e.subject_id),
                            _cell(e.detail),
                        ]
                    )
                count += len(page)
                if len(page) < PAGE:
                    break
                before = page[-1].id
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
        # Recorded whatever came of it: what was read was read.
        audit.record(exporter(), "export_audit", "audit_log", where.describe(), _detail(count, out))
    say(
        _("{prog}: {count} entries ({filter}) written to {path}").format(
            prog=PROG, count=count, filter=where.describe(), path=out
        )
    )
    return 0


def _detail(count: int, out: Path) -> str:
    return f"entries={count} file={out.absolute()}"[:500]


def _cell(value: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: quoted so it stays text.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
