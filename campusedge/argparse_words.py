"""argparse's own words (usage, headings, its errors) in the deployment's language."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from typing import Any, NoReturn

from campusedge.words import N_, _, error_line

# Python ships no Chinese for argparse, whose `_` is gettext's global domain (not one we may
# take over for the whole process): its few words a person sees are translated here instead.
HEADINGS = {"positional arguments": N_("positional arguments"), "options": N_("options")}
HELP_OPTION = N_("show this help message and exit")

# argparse's error messages as it words them (Python 3.11 to 3.13), with what they name as
# named groups; one not listed is shown as argparse words it.
ERRORS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"the following arguments are required: (?P<names>.+)"),
        N_("the following arguments are required: {names}"),
    ),
    (
        re.compile(r"one of the arguments (?P<names>.+) is required"),
        N_("one of the arguments {names} is required"),
    ),
    (
        re.compile(r"unrecognized arguments: (?P<names>.+)"),
        N_("unrecognized arguments: {names}"),
    ),
    (
        re.compile(
            r"argument (?P<name>\S+): invalid choice: (?P<value>.+) \(choose from (?P<choices>.+)\)"
        ),
        N_("argument {name}: invalid choice: {value} (choose from {choices})"),
    ),
    (
        re.compile(r"argument (?P<name>\S+): invalid (?P<type>\S+) value: (?P<value>.+)"),
        N_("argument {name}: invalid {type} value: {value}"),
    ),
    (
        re.compile(r"argument (?P<name>\S+): expected one argument"),
        N_("argument {name}: expected one argument"),
    ),
    (
        re.compile(r"argument (?P<name>\S+): not allowed with argument (?P<other>\S+)"),
        N_("argument {name}: not allowed with argument {other}"),
    ),
]


def translated(message: str) -> str:
    """An argparse error message in the deployment's language (as it is if not listed)."""
    for pattern, template in ERRORS:
        found = pattern.fullmatch(message)
        if found is not None:
            return _(template).format(**found.groupdict())
    return message


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help with its own words (usage, headings, -h) translated."""

    def add_usage(
        self,
        usage: str | None,
        actions: Iterable[argparse.Action],
        groups: Iterable[argparse._MutuallyExclusiveGroup],
        prefix: str | None = None,
    ) -> None:
        super().add_usage(usage, actions, groups, _("usage: ") if prefix is None else prefix)

    def start_section(self, heading: str | None) -> None:
        super().start_section(_(HEADINGS[heading]) if heading in HEADINGS else heading)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = super()._get_help_string(action)
        return _(HELP_OPTION) if text == HELP_OPTION else text


class ArgumentParser(argparse.ArgumentParser):
    """An argument parser whose usage, help and errors are in the deployment's language; its
    subcommands' parsers are of this class too (argparse makes them of the parent's class)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(**kwargs)

    def error(self, message: str) -> NoReturn:
        # As argparse does (usage, then one line, exit 2), in the reader's language.
        self.print_usage(sys.stderr)
        line = error_line(self.prog, _("error: {message}").format(message=translated(message)))
        self.exit(2, line + "\n")
