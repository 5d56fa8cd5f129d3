"""`campusedge gateway district`: define a district (a named set of schools) and list them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from campusedge.words import error_line, error_text
from gateway.cli.language import gettext as _
from gateway.cli.user import NoStateDB, state_db_path
from gateway.district.registry import (
    DistrictExists,
    Districts,
    SchoolInOtherDistrict,
    check_district_id,
)
from gateway.state import StateDB, StateDBError

PROG = "campusedge gateway district"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--state-db",
        default=None,
        help="the gateway's state database, a file or a postgresql:// URL "
        "(default: $CAMPUSEDGE_STATE_DB, else var/campusedge/state.db); only `add` "
        "creates a new one",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", parents=[common], help=_("define a district"))
    add.add_argument("district_id")
    add.add_argument("--name", help=_("the district's name (default: its id)"))
    add.add_argument("--school", action="append", default=[], help=_("a school (repeat)"))
    schools = actions.add_parser(
        "schools", parents=[common], help=_("set a district's schools (replaces the list)")
    )
    schools.add_argument("district_id")
    schools.add_argument("--school", action="append", default=[], help=_("a school (repeat)"))
    actions.add_parser("list", parents=[common], help=_("list districts and their schools"))


def say(text: str) -> None:
    print(text, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    try:
        # Like `user add`, `district add` may make the state database: a district comes first.
        path, created = state_db_path(args.state_db, may_create=args.action == "add")
        if created:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = StateDB(path)
    except (NoStateDB, StateDBError) as exc:
        say(error_line(PROG, error_text(exc)))
        return 2
    districts = Districts(db)
    try:
        if args.action == "list":
            for district in districts.all():
                schools = ",".join(sorted(district.schools)) or "-"
                print(f"{district.id}\t{district.name}\tschools {schools}")
            return 0
        if args.action == "add":
            check_district_id(args.district_id)
            districts.add(args.district_id, args.name or args.district_id)
        districts.set_schools(args.district_id, args.school)
    except ValueError as exc:  # an invalid id, or SchoolInOtherDistrict
        if isinstance(exc, SchoolInOtherDistrict):
            exc = ValueError(
                _(
                    "school {school!r} belongs to district {district!r}: take it out of "
                    "that one first (`{prog} schools {district} --school ...`)"
                ).format(school=exc.school, district=exc.district_id, prog=PROG)
            )
        say(error_line(PROG, error_text(exc)))
        return 2
    except DistrictExists:
        say(
            error_line(
                PROG,
                _("district {district!r} exists; change its schools with `{prog} schools`").format(
                    district=args.district_id,
                    prog=PROG,
                ),
            )
        )
        return 1
    except KeyError:
        say(
            error_line(
                PROG,
                _("no district {district!r}: define it with `{prog} add`").format(
                    district=args.district_id,
                    prog=PROG,
                ),
            )
        )
        return 1
    finally:
        db.close()
    listed = ", ".join(sorted(set(args.school))) or _("none")
    say(
        _("district {district} in {path} now has the schools: {schools}").format(
            district=args.district_id, path=db.where, schools=listed
        )
    )
    return 0
