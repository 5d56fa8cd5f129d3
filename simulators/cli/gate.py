"""`campusedge simulate gate`: students pass the temperature gates in the morning."""

from __future__ import annotations

import argparse

from simulators.scenario import add_common_arguments, faults_from, run_scenario
from simulators.scenarios.gate import MorningGate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--fever-rate", type=float, default=0.01)
    parser.add_argument("--window-minutes", type=float, default=30,
                        help="how long arrivals take")
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    try:
        scenario = MorningGate.build(args.students, args.fever_rate, args.window_minutes,
                                     faults_from(args), args.seed)
    except ValueError as exc:
        raise SystemExit(f"campusedge simulate gate: {exc}") from None
    return run_scenario(scenario, args)
