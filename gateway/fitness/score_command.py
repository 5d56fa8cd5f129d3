"""`campusedge fitness score`: one item result per row -> its score and bonus points."""

from __future__ import annotations

import argparse

from gateway.fitness import cli


def add_arguments(parser: argparse.ArgumentParser) -> None:
    cli.add_arguments(parser, "score")


def run(args: argparse.Namespace) -> int:
    return cli.run_kind(args, "score")
