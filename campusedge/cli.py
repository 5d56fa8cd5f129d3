"""The `campusedge` command: a thin dispatcher over the subcommands of each part."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Protocol, cast

from campusedge import __version__
from campusedge.argparse_words import ArgumentParser
from campusedge.processes import shutdown_on_signals
from campusedge.words import N_, _


class Command(Protocol):
    """What a subcommand module provides."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


# A static table rather than a folder scan: the vocabulary package must not import the services
# (DESIGN.md), and importing one subcommand should not load onnxruntime or FastAPI for another.
COMMANDS: dict[tuple[str, ...], tuple[str, str]] = {
    ("demo",): ("gateway.cli.demo", N_("run broker, gateway, API and a simulated PE lesson")),
    ("broker",): (
        "gateway.cli.broker",
        N_("run an MQTT broker (Mosquitto if installed, else amqtt)"),
    ),
    ("gateway", "run"): ("gateway.cli.run", N_("run the gateway: ingest, store, API")),
    ("provision",): (
        "gateway.cli.provision",
        N_("MQTT identities of boxes and gateway workers; the broker's config, ACL and TLS files"),
    ),
    ("gateway", "user"): ("gateway.cli.user", N_("manage API users and their roles")),
    ("gateway", "district"): (
        "gateway.cli.district",
        N_("define districts (named sets of schools) for district users and thresholds"),
    ),
    ("gateway", "district-broker"): (
        "gateway.cli.district_broker",
        N_("write the district topologies' broker configs (Mosquitto bridge, EMQX cluster)"),
    ),
    ("gateway", "model"): (
        "gateway.cli.models",
        N_("sign pose models and offer them to the edge boxes (remote model updates)"),
    ),
    ("audit", "export"): (
        "gateway.cli.audit",
        N_("write the audit log of a time range as CSV (the export is audited too)"),
    ),
    ("gateway", "migrate"): (
        "gateway.cli.migrate",
        N_("upgrade the state database's schema (--check: only say whether it is current)"),
    ),
    ("gateway", "repair"): (
        "gateway.cli.repair",
        N_("check the gateway's state database; --salvage rebuilds a damaged one"),
    ),
    ("backup",): (
        "gateway.backup.backup_command",
        N_("copy the gateway's state (and SQLite readings) to a backup file, online"),
    ),
    ("restore",): ("gateway.backup.restore_command", N_("put a backup's state back")),
    ("student", "forget"): (
        "gateway.privacy.forget_command",
        N_("erase one student's personal data from the state and the readings store"),
    ),
    ("contract", "export"): ("gateway.cli.contract", N_("write the wire contract's JSON Schema")),
    ("bench", "ingest"): (
        "gateway.bench.ingest",
        N_("benchmark MQTT ingest against a bare subscriber"),
    ),
    ("alerts", "check"): (
        "gateway.alerts.cli",
        N_("validate alert configs and print a school's effective rules"),
    ),
    ("bench", "alerts"): (
        "gateway.alerts.bench",
        N_("benchmark fever alert delivery (SSE, webhook) under load"),
    ),
    ("bench", "hr-alerts"): (
        "gateway.alerts.bench_heart_rate",
        N_("heart-rate alerts a simulated class raises per lesson, by rule and severity"),
    ),
    ("bench", "store"): ("gateway.store.bench", N_("benchmark store writes against bare SQLite")),
    ("bench", "district"): (
        "gateway.bench.district",
        N_("gateway workers sharing a broker and PostgreSQL: throughput, and one killed"),
    ),
    ("bench", "state"): (
        "gateway.bench.state",
        N_("time the state database's hot paths on SQLite and PostgreSQL"),
    ),
    ("bench", "fitness-listener"): (
        "gateway.fitness.bench",
        N_("fitness listener cost per batch against the store write"),
    ),
    ("fitness", "score"): (
        "gateway.fitness.score_command",
        N_("score fitness-test items in a batch"),
    ),
    ("fitness", "total"): (
        "gateway.fitness.total_command",
        N_("total fitness scores for a roster"),
    ),
    ("fitness", "export-national"): (
        "gateway.fitness.national_command",
        N_("a school year's upload workbook for the national student fitness platform"),
    ),
    ("edge", "run"): ("edge.cli.run", N_("run an edge box: devices, buffer, MQTT publishing")),
    ("drivers", "list"): (
        "edge.cli.drivers",
        N_("the drivers this box can run: built-in and plug-ins, and where each came from"),
    ),
    ("simulate", "lesson"): ("simulators.cli.lesson", N_("simulate a PE lesson: bands and ropes")),
    ("simulate", "gate"): ("simulators.cli.gate", N_("simulate a morning at the temperature gate")),
    ("simulate", "screening"): ("simulators.cli.screening", N_("simulate a vision screening day")),
    ("simulate", "modbus"): (
        "simulators.cli.modbus",
        N_("Modbus devices on a pymodbus server, over TCP and RTU (a pty pair)"),
    ),
    ("simulate", "ble-bands"): (
        "simulators.cli.ble_bands",
        N_("heart-rate bands as GATT peripherals on a virtual BLE link"),
    ),
    ("bench", "outage"): (
        "simulators.bench_outage",
        N_("benchmark a broker outage mid-lesson: nothing lost or doubled"),
    ),
    ("bench", "soak"): (
        "simulators.bench_soak",
        N_("soak: a school day again and again with broker and gateway faults; nothing lost"),
    ),
    ("bench", "ble"): (
        "edge.bench_ble",
        N_("benchmark band notifications over the virtual BLE link against TCP"),
    ),
    ("bench", "modbus"): (
        "edge.bench_modbus",
        N_("benchmark Modbus polling and decoding against pymodbus's bare client, TCP and RTU"),
    ),
    ("pe", "count"): ("edge.pe.cli_count", N_("count exercise repetitions in a video")),
    ("pe", "eval"): ("edge.pe.cli_eval", N_("evaluate rep counting on a folder of labelled clips")),
    ("pe", "eval-crowd"): (
        "edge.pe.cli_crowd",
        N_("evaluate counting several people at once on side-by-side labelled clips"),
    ),
    ("bench", "pose"): ("edge.pe.bench", N_("benchmark pose inference and counting on one thread")),
}


def _load(module: str) -> Command:
    return cast(Command, importlib.import_module(module))


def _usage(group: str | None = None) -> str:
    shown = {p: v for p, v in COMMANDS.items() if group is None or p[0] == group}
    width = max(len(" ".join(path)) for path in shown)
    lines = [f"campusedge {__version__}", "", _("usage: campusedge COMMAND [options]"), ""]
    for path, (_module, summary) in sorted(shown.items()):
        lines.append(f"  {' '.join(path):<{width}}  {_(summary)}")
    lines.append("\n" + _("`campusedge COMMAND --help` shows a command's options."))
    return "\n".join(lines)


def _match(argv: Sequence[str]) -> tuple[tuple[str, ...], Sequence[str]] | None:
    for size in (3, 2, 1):
        path = tuple(argv[:size])
        if len(path) == size and path in COMMANDS:
            return path, argv[size:]
    return None


def main(argv: Sequence[str] | None = None, *, out: Callable[[str], None] = print) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        out(_usage())
        # Help asked for is a success; no command at all is a usage error (a script that
        # forgot its command must not go on as if something had run).
        return 0 if args else 2
    if args[0] == "--version":
        out(__version__)
        return 0
    found = _match(args)
    if found is None and any(path[0] == args[0] for path in COMMANDS):
        # A command group alone (`campusedge fitness`, `campusedge bench --help`): list it.
        out(_usage(args[0]))
        return 0 if args[1:2] in (["-h"], ["--help"]) else 2
    if found is None:
        unknown = _("campusedge: unknown command {command!r}").format(command=" ".join(args[:2]))
        out(f"{unknown}\n\n{_usage()}")
        return 2
    path, rest = found
    # Before anything starts: a SIGTERM or SIGHUP then unwinds the command through its
    # `finally` blocks, which stop the processes it started, instead of ending it on the spot.
    with shutdown_on_signals():
        module_name, summary = COMMANDS[path]
        command = _load(module_name)
        parser = ArgumentParser(prog="campusedge " + " ".join(path), description=_(summary))
        command.add_arguments(parser)
        return command.run(parser.parse_args(rest))


if __name__ == "__main__":
    raise SystemExit(main())
