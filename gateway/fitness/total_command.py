"""`campusedge fitness total`: one student's results per row -> weighted total, bonus and level."""

from __future__ import annotations

import argparse

from gateway.fitness import cli


def add_arguments(parser: argparse.ArgumentParser) -> None:
    cli.add_arguments(parser, "total")


def run(args: argparse.Namespace) -> int:
    return cli.run_kind(args, "total")
