"""`campusedge gateway user`: add a user with a role and print their API token once."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path

from pydantic import ValidationError

from campusedge.words import error_line, error_text
from gateway.auth import Role, TokenSettings, Users, check_user_id
from gateway.cli.language import gettext as _
from gateway.district.registry import Districts
from gateway.state import StateDB, StateDBError, is_sqlite_path

PROG = "campusedge gateway user"
# The same file `gateway run` uses when CAMPUSEDGE_STATE_DB is set (as in the systemd unit).
DEFAULT_STATE_DB = "var/campusedge/state.db"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--state-db",
        default=None,
        help=_(
            "the gateway's state database, a file or a postgresql:// URL "
            "(default: $CAMPUSEDGE_STATE_DB, else {default}); only `add` creates a new one"
        ).format(default=DEFAULT_STATE_DB),
    )
    issue = argparse.ArgumentParser(add_help=False)
    issue.add_argument(
        "--lifetime-days",
        type=float,
        help=_("days the new token works (default: $CAMPUSEDGE_TOKEN_LIFETIME_DAYS, else 30)"),
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add", parents=[common, issue], help=_("add a user; prints their token")
    )
    add.add_argument("user_id")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--name", help=_("display name (default: the user id)"))
    add.add_argument(
        "--school",
        action="append",
        default=[],
        help=_("a school whose alerts, referrals and lessons the user sees (repeat for more)"),
    )
    add.add_argument(
        "--district",
        help=_("for --role district: the district whose schools' aggregates the user reads"),
    )
    schools = actions.add_parser(
        "schools", parents=[common], help=_("set the schools a user sees (replaces the list)")
    )
    schools.add_argument("user_id")
    schools.add_argument("--school", action="append", default=[], help=_("a school (repeat)"))
    rotate = actions.add_parser(
        "rotate",
        parents=[common, issue],
        help=_("give a user a new token; the old one stops working"),
    )
    rotate.add_argument("user_id")
    revoke = actions.add_parser("revoke", parents=[common], help=_("revoke a user's access"))
    revoke.add_argument("user_id")
    actions.add_parser("list", parents=[common], help=_("list users and their roles"))


def say(text: str) -> None:
    """Messages go to stderr: stdout carries only a token, for scripts."""
    print(text, file=sys.stderr)


class NoStateDB(Exception):
    """The state database named cannot be used; the message says which and why."""


def state_db_path(given: str | None, may_create: bool) -> tuple[str, bool]:
    """The state database to use and whether it is a new file (only when *may_create*)."""
    if given is None:
        env = os.environ.get("CAMPUSEDGE_STATE_DB")
        if env is not None and not env.strip():
            raise NoStateDB(
                _(
                    "CAMPUSEDGE_STATE_DB is set but empty: set it to the gateway's "
                    "state database file, or unset it for {default}"
                ).format(default=DEFAULT_STATE_DB)
            )
        given = env or DEFAULT_STATE_DB
    if not is_sqlite_path(given):
        return given, False  # a server's database: StateDB says if it cannot be reached
    path = Path(given).absolute()
    if path.is_dir():
        raise NoStateDB(_("{path} is a directory, not a state database file").format(path=path))
    if path.exists():
        return str(path), False
    if not may_create:
        # A typo or a different working directory must not quietly start an empty database
        # that the running gateway never reads.
        raise NoStateDB(
            _(
                "no state database at {path}: name the gateway's with --state-db or "
                "CAMPUSEDGE_STATE_DB (only `user add` creates a new one)"
            ).format(path=path)
        )
    return str(path), True


def _lifetime(args: argparse.Namespace) -> timedelta:
    """The new token's lifetime: --lifetime-days, else the environment's, else 30 days."""
    given = getattr(args, "lifetime_days", None)
    if given is None:
        return TokenSettings().lifetime
    if not 0 < given <= 3650:
        raise ValueError(
            _("--lifetime-days {days}: give a number of days from 0 to 3650").format(
                days=f"{given:g}"
            )
        )
    return timedelta(days=given)


def run(args: argparse.Namespace) -> int:
    try:
        # Only a new token needs it: a bad variable must not stop `list` or `revoke`.
        lifetime = _lifetime(args) if args.action in ("add", "rotate") else None
    except ValidationError as exc:
        say(error_line(PROG, f"CAMPUSEDGE_TOKEN_LIFETIME_DAYS: {exc.errors()[0]['msg']}"))
        return 2
    except ValueError as exc:
        say(error_line(PROG, error_text(exc)))
        return 2
    if args.action == "add":
        try:
            check_user_id(args.user_id)
        except ValueError as exc:
            say(error_line(PROG, error_text(exc)))
            return 2
    try:
        path, created = state_db_path(args.state_db, may_create=args.action == "add")
        if created:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = StateDB(path)
        path = db.where  # never a password in what is printed
        users = Users(db, lifetime) if lifetime is not None else Users(db)
    except NoStateDB as exc:
        say(error_line(PROG, error_text(exc)))
        return 2
    except StateDBError as exc:  # its message names the file already
        say(error_line(PROG, error_text(exc)))
        return 2
    except OSError as exc:
        say(
            error_line(
                PROG,
                _("cannot open state database {path}: {error}").format(
                    path=path, error=exc.strerror
                ),
            )
        )
        return 2
    if args.action == "list":
        listed = users.all()
        for user in listed:
            expires = users.expires_at(user.id)
            until = expires.isoformat(timespec="minutes") if expires else "-"
            schools = ",".join(sorted(user.schools)) or "-"
            where = f"district {user.district}" if user.district else f"schools {schools}"
            print(
                f"{user.id}\t{user.role.value}\t{user.display_name}\ttoken until {until}\t{where}"
            )
        if not listed:
            say(_("no users in {path}").format(path=path))
        return 0
    existing = users.get(args.user_id)
    if args.action == "add":
        if existing is not None:
            say(
                _(
                    "user {user!r} exists in {path} (role {role}); use "
                    "`rotate` for a new token, or `revoke` first to change the role"
                ).format(user=args.user_id, path=path, role=existing.role.value)
            )
            return 1
        role = Role(args.role)
        problem = _district_problem(db, role, args.district, args.school)
        if problem:
            say(error_line(PROG, problem))
            return 2
        token = users.create(
            args.user_id,
            args.name or args.user_id,
            role,
            schools=args.school,
            district=args.district,
        )
        if not args.school and role not in (Role.AUDITOR, Role.DISTRICT):
            say(
                _(
                    "{user} belongs to no school yet and sees no school's alerts, "
                    "referrals or lessons: `{prog} schools {user} --school S`"
                ).format(user=args.user_id, prog=PROG)
            )
        if created:
            say(
                _(
                    "created a new state database {path}: the gateway accepts this token only "
                    "if it runs with CAMPUSEDGE_STATE_DB={path}"
                ).format(path=path)
            )
        say(
            _(
                "added {user} ({role}) to {path}; their token, shown only now, works until {until}:"
            ).format(
                user=args.user_id, role=args.role, path=path, until=_until(users, args.user_id)
            )
        )
        print(token)
        return 0
    if existing is None:
        say(_("no user {user!r} in {path}").format(user=args.user_id, path=path))
        return 1
    if args.action == "schools":
        if existing.role is Role.DISTRICT:
            say(
                error_line(
                    PROG,
                    _(
                        "{user} is a district user and reads its district's schools: change "
                        "them with `campusedge gateway district schools`"
                    ).format(user=args.user_id),
                )
            )
            return 2
        users.set_schools(args.user_id, args.school)
        listed_schools = ", ".join(sorted(set(args.school))) or _("none")
        say(
            _("{user} in {path} now sees the schools: {schools}").format(
                user=args.user_id, path=path, schools=listed_schools
            )
        )
        return 0
    if args.action == "revoke":
        users.delete(args.user_id)
        say(_("revoked {user} in {path}").format(user=args.user_id, path=path))
        return 0
    token = users.rotate(existing.id)
    say(
        _("new token for {user} in {path}, until {until}; the old one no longer works:").format(
            user=args.user_id, path=path, until=_until(users, args.user_id)
        )
    )
    print(token)
    return 0


def _district_problem(db: StateDB, role: Role, district: str | None, schools: list[str]) -> str:
    """Why a new user's district options do not fit their role ("" when they do)."""
    if role is not Role.DISTRICT:
        return _("--district is only for --role district") if district is not None else ""
    if district is None:
        return _(
            "a district user needs --district D (define it with `campusedge gateway district add`)"
        )
    if schools:
        return _("a district user reads its district's schools: give no --school")
    if Districts(db).get(district) is None:
        return _(
            "no district {district!r}: define it with `campusedge gateway district add {district}`"
        ).format(district=district)
    return ""


def _until(users: Users, user_id: str) -> str:
    expires = users.expires_at(user_id)
    return expires.isoformat(timespec="minutes") if expires else "-"
