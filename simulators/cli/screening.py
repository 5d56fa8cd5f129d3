"""`campusedge simulate screening`: a vision screening day in the clinic."""

from __future__ import annotations

import argparse
from pathlib import Path

from campusedge.words import error_line
from drivers.vision_screener import SUBJECT
from simulators.roster import subjects_from_roster
from simulators.scenario import add_common_arguments, faults_from, run_scenario
from simulators.scenarios.screening import ScreeningDay


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--students",
        type=int,
        default=None,
        help="how many are screened (default: all of --roster, else 200)",
    )
    parser.add_argument(
        "--roster",
        type=Path,
        metavar="CSV",
        help="the roster CSV imported into the gateway: screen its students, "
        "each named by the S-… id in card_id or student_id (default: "
        "made-up ids no roster knows)",
    )
    parser.add_argument(
        "--seconds-per-student",
        type=float,
        default=40,
        help="scenario seconds each screening takes",
    )
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    try:
        subjects = subjects_from_roster(args.roster, SUBJECT, "screener") if args.roster else None
        scenario = ScreeningDay.build(
            args.students, args.seconds_per_student, faults_from(args), args.seed, subjects
        )
    except ValueError as exc:
        raise SystemExit(error_line("campusedge simulate screening", exc)) from None
    return run_scenario(scenario, args)
