"""`campusedge alerts check`: validate an alert config directory and show a school's rules."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from campusedge.words import error_text
from gateway.alerts.config import AlertConfigError, AlertConfigs
from gateway.alerts.delivery.redact import HIDDEN, redact_url
from gateway.cli.language import gettext as _


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory",
        type=Path,
        nargs="?",
        help="alert config directory (<school>.yaml, warning_levels.yaml); "
        "the packaged defaults when omitted",
    )
    parser.add_argument("--school", help="print the effective config of this school")
    parser.add_argument(
        "--district",
        help="the school's district (`campusedge gateway district list`): its "
        "districts/<district>.yaml applies unless the school has its own file",
    )
    parser.add_argument(
        "--warning-levels",
        type=Path,
        metavar="FILE",
        help="the district's warning-level thresholds, when kept elsewhere",
    )


def run(args: argparse.Namespace) -> int:
    try:
        configs = AlertConfigs(
            args.directory, args.warning_levels, district_of=lambda school: args.district
        )
    except AlertConfigError as exc:
        print(_("invalid alert config:\n{error}").format(error=error_text(exc)), file=sys.stderr)
        return 1
    schools = sorted(c.school or "" for c in configs.all()[1:])
    print(
        _("ok: defaults, {count} school file(s) {schools}")
        .format(count=len(schools), schools=", ".join(schools))
        .rstrip()
    )
    levels = configs.warning_levels
    print(
        _("warning levels v{version} by {owner}").format(version=levels.version, owner=levels.owner)
    )
    if args.school:
        print(_source(args.school, configs.source(args.school)))
        levels = configs.warning_levels_for(args.school)
        print(
            _("{school}: warning levels v{version} by {owner}").format(
                school=args.school, version=levels.version, owner=levels.owner
            )
        )
        effective = configs.for_school(args.school).model_dump(mode="json")
        # A terminal, a ticket or a screen share is no place for a robot's key or secret.
        for target in effective["delivery"]["webhooks"]:
            target["url"] = redact_url(target["url"])
            if target["secret"] is not None:
                target["secret"] = HIDDEN
        print(yaml.safe_dump(effective, sort_keys=False, allow_unicode=True), end="")
    return 0


def _source(school: str, source: str) -> str:
    """AlertConfigs.source() ("school", "district <id>" or "defaults") as a reader's line."""
    if source.startswith("district "):
        return _("{school}: from district {district}").format(
            school=school, district=source.removeprefix("district ")
        )
    if source == "school":
        return _("{school}: from school").format(school=school)
    return _("{school}: from defaults").format(school=school)
