"""`campusedge simulate lesson`: a PE lesson of bands and ropes, with a 1-minute rope test."""

from __future__ import annotations

import argparse

from campusedge.words import error_line
from simulators.scenario import add_common_arguments, faults_from, run_scenario
from simulators.scenarios.lesson import Lesson


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--students",
        type=int,
        default=40,
        help="students in the class, each with a band and a rope",
    )
    parser.add_argument("--minutes", type=float, default=45, help="length of the lesson")
    parser.add_argument(
        "--rope-test-at",
        type=float,
        metavar="MINUTE",
        help="lesson minute at which the 1-minute rope test starts (default: mid-lesson)",
    )
    parser.add_argument(
        "--ble-link",
        action="store_true",
        help="serve the bands as GATT peripherals on a virtual BLE link, read "
        "by the agent's BLE central (default: the ble_sim TCP feed)",
    )
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    try:
        scenario = Lesson.build(
            args.students,
            args.minutes,
            faults_from(args),
            args.seed,
            ble_link=args.ble_link,
            rope_test_at_min=args.rope_test_at,
        )
    except ValueError as exc:
        raise SystemExit(error_line("campusedge simulate lesson", exc)) from None
    return run_scenario(scenario, args)
