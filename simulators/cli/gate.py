"""`campusedge simulate gate`: students pass the temperature gates in the morning."""

from __future__ import annotations

import argparse
from pathlib import Path

from campusedge.words import error_line
from drivers.temp_gate import SUBJECT
from simulators.roster import subjects_from_roster
from simulators.scenario import add_common_arguments, faults_from, run_scenario
from simulators.scenarios.gate import MorningGate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--students",
        type=int,
        default=None,
        help="how many pass (default: all of --roster, else 1000)",
    )
    parser.add_argument(
        "--roster",
        type=Path,
        metavar="CSV",
        help="the roster CSV imported into the gateway: its students pass, "
        "each with the C-…/F-… id in card_id or student_id (default: "
        "made-up ids no roster knows)",
    )
    parser.add_argument(
        "--fever-rate", type=float, default=0.01, help="share of students passing with a fever"
    )
    parser.add_argument("--window-minutes", type=float, default=30, help="how long arrivals take")
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    try:
        subjects = subjects_from_roster(args.roster, SUBJECT, "gate") if args.roster else None
        scenario = MorningGate.build(
            args.students,
            args.fever_rate,
            args.window_minutes,
            faults_from(args),
            args.seed,
            subjects,
        )
    except ValueError as exc:
        raise SystemExit(error_line("campusedge simulate gate", exc)) from None
    return run_scenario(scenario, args)
