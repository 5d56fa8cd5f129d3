"""`campusedge simulate … --help` names the default of every option that has one."""

from __future__ import annotations

import argparse
import importlib

import pytest

from campusedge.cli import COMMANDS

SIMULATE = sorted(path for path in COMMANDS if path[0] == "simulate")


def _parser(path: tuple[str, ...]) -> argparse.ArgumentParser:
    module_name, summary = COMMANDS[path]
    parser = argparse.ArgumentParser(prog="campusedge " + " ".join(path), description=summary)
    importlib.import_module(module_name).add_arguments(parser)
    return parser


@pytest.mark.parametrize("path", SIMULATE, ids=[" ".join(p) for p in SIMULATE])
def test_every_default_is_in_the_help(path: tuple[str, ...]) -> None:
    parser = _parser(path)
    text = " ".join(parser.format_help().split())  # unwrapped
    checked = 0
    for action in parser._actions:
        if (
            not action.option_strings
            or action.default in (None, argparse.SUPPRESS)
            or action.default is False
        ):
            continue
        shown = action.default if isinstance(action.default, str) else repr(action.default)
        assert action.help, f"{action.option_strings[0]} has no help"
        assert f"(default: {shown})" in text, f"{action.option_strings[0]}: {text}"
        checked += 1
    assert checked >= 4


def test_the_common_options_say_their_defaults() -> None:
    text = " ".join(_parser(("simulate", "gate")).format_help().split())
    for shown in (
        "--speed SPEED scenario seconds per wall second (1: real time) (default: 1.0)",
        "(default: demo-school)",
        "--duplicate-rate DUPLICATE_RATE share of frames "
        "sent twice (devices with a frame counter) (default: 0.0)",
        "(default: $CAMPUSEDGE_MQTT_HOST, else 127.0.0.1)",
        "--fever-rate FEVER_RATE share of students passing with a fever (default: 0.01)",
    ):
        assert shown in text
