"""`campusedge simulate screening`: a vision screening day in the clinic."""

from __future__ import annotations

import argparse

from simulators.scenario import add_common_arguments, faults_from, run_scenario
from simulators.scenarios.screening import ScreeningDay


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--seconds-per-student", type=float, default=40)
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    try:
        scenario = ScreeningDay.build(args.students, args.seconds_per_student,
                                      faults_from(args), args.seed)
    except ValueError as exc:
        raise SystemExit(f"campusedge simulate screening: {exc}") from None
    return run_scenario(scenario, args)
