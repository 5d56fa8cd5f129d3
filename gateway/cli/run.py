"""`campusedge gateway run`: ingest from MQTT into the store and serve the API."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

from gateway import collector
from gateway.api.server import ApiServer, listen
from gateway.cli.common import (
    add_mqtt_arguments,
    load_settings,
    mqtt_from_args,
    setup_logging,
    start_failed,
)
from gateway.cli.language import gettext as _
from gateway.heap_trim import HeapTrimmer
from gateway.i18n import N_
from gateway.memory_trace import MemoryTrace
from gateway.repair import DAMAGED, StateDamaged, check_state
from gateway.service import Gateway, GatewaySettings, GatewayStartError
from gateway.state import is_sqlite_path
from gateway.store.factory import has_secret

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        type=Path,
        help=_(
            "SQLite readings file (shortcut for --store-url); the state database goes beside "
            "it as <name>-state.db unless --state-db or CAMPUSEDGE_STATE_DB names one"
        ),
    )
    parser.add_argument(
        "--store-url",
        help=_(
            "sqlite:///path or influx://user@host:port/db; give the password in "
            "CAMPUSEDGE_STORE_PASSWORD, not here (the command line is visible to every user)"
        ),
    )
    parser.add_argument(
        "--store-url-file",
        type=Path,
        metavar="FILE",
        help=_(
            "read the store URL from FILE (readable by the gateway's user alone), password and all"
        ),
    )
    parser.add_argument(
        "--state-db",
        help=_(
            "roster/devices/users/alerts: a SQLite file or a postgresql:// URL (put a "
            "password in CAMPUSEDGE_STATE_DB, not here: the command line is visible)"
        ),
    )
    parser.add_argument(
        "--no-migrate",
        action="store_true",
        help=_("do not upgrade the state schema at start; refuse to start if it is not current"),
    )
    parser.add_argument("--school", help=_("school id to ingest ('+' for all)"))
    parser.add_argument(
        "--strict-enrolment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=_(
            "admit only devices enrolled in the fleet registry (default: on; "
            "--no-strict-enrolment for trials with simulated devices)"
        ),
    )
    parser.add_argument(
        "--client-id", help=_("MQTT client id (one per gateway: it names the persistent session)")
    )
    parser.add_argument("--protocol", choices=["5", "3.1.1"])
    parser.add_argument(
        "--worker-id",
        help=_(
            "run as one of several gateway workers sharing one PostgreSQL state (--state-db "
            "postgresql://…), broker and store: each holds leases on a fair share of the schools "
            "and takes over a dead worker's (docs/workers.md). One id per running worker"
        ),
    )
    parser.add_argument(
        "--worker-lease",
        type=float,
        metavar="SECONDS",
        help=_("how long a worker's school leases outlive its last heartbeat (default 10)"),
    )
    parser.add_argument("--api-host")
    parser.add_argument("--api-port", type=int, help=_("0 disables the HTTP API"))
    parser.add_argument(
        "--alerts-dir",
        type=Path,
        help=_("per-school alert configs (<school>.yaml) and the district's warning_levels.yaml"),
    )
    parser.add_argument(
        "--warning-levels",
        type=Path,
        metavar="FILE",
        help=_("the district's warning-level thresholds, when kept outside --alerts-dir"),
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    add_mqtt_arguments(parser)


OPTIONS = {
    "store_url": "--store-url",
    "state_db": "--state-db",
    "alerts_dir": "--alerts-dir",
    "warning_levels_file": "--warning-levels",
    "api_host": "--api-host",
    "api_port": "--api-port",
    "ingest": "--school/--client-id/--protocol",
    "strict_enrolment": "--strict-enrolment",
    "worker_id": "--worker-id",
    "worker_lease_s": "--worker-lease",
}


def settings_from_args(args: argparse.Namespace) -> GatewaySettings:
    """Settings from the environment with the command line's options on top."""
    updates: dict[str, Any] = {}
    if args.db is not None:
        updates["store_url"] = f"sqlite:///{args.db}"
        if args.state_db is None and not os.environ.get("CAMPUSEDGE_STATE_DB"):
            # A quick start with one option: the state beside the readings. Never over a
            # state database the environment names (the one `gateway user add` also uses).
            updates["state_db"] = str(args.db.with_name(args.db.stem + "-state.db"))
    if args.store_url and args.store_url_file is not None:
        raise GatewayStartError(N_("give --store-url or --store-url-file, not both"), catalog=True)
    if args.store_url:
        updates["store_url"] = args.store_url
        if has_secret(args.store_url):
            log.warning(
                "the store password in --store-url can be read by every user of this machine "
                "(ps); give it in CAMPUSEDGE_STORE_PASSWORD or the URL in --store-url-file"
            )
    if args.store_url_file is not None:
        try:
            updates["store_url"] = args.store_url_file.read_text().strip()
        except OSError as exc:
            raise GatewayStartError(
                N_("--store-url-file {path}: {reason}"),
                path=args.store_url_file,
                reason=exc.strerror,
            ) from None
    if args.state_db is not None:
        updates["state_db"] = args.state_db
    if args.no_migrate:
        updates["migrate_on_start"] = False
    if args.alerts_dir is not None:
        updates["alerts_dir"] = args.alerts_dir
    if args.warning_levels is not None:
        updates["warning_levels_file"] = args.warning_levels
    for name in ("api_host", "api_port", "strict_enrolment", "worker_id"):
        if getattr(args, name) is not None:
            updates[name] = getattr(args, name)
    if args.worker_lease is not None:
        updates["worker_lease_s"] = args.worker_lease
    ingest = {
        k: getattr(args, k)
        for k in ("school", "client_id", "protocol")
        if getattr(args, k) is not None
    }
    if ingest:
        # Merged by pydantic-settings with ingest settings given in the environment.
        updates["ingest"] = ingest
    return load_settings(GatewaySettings, OPTIONS, **updates)


def wait_for_signal() -> None:
    """Without the API: run until SIGINT/SIGTERM/SIGHUP."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def run(args: argparse.Namespace) -> int:
    setup_logging(args.verbose)
    prog = "campusedge gateway run"
    sock = None
    try:
        settings = settings_from_args(args)
        try:
            if is_sqlite_path(settings.state_db):  # a server's database is its own to check
                check_state(Path(settings.state_db))
        except StateDamaged as exc:
            raise GatewayStartError(DAMAGED, path=exc.path, problem=exc.problem) from None
        mqtt = mqtt_from_args(args)
        if settings.api_port:
            sock = listen(
                settings.api_host,
                settings.api_port,
                "--api-port or CAMPUSEDGE_API_PORT (0 disables the API)",
            )
        gateway = Gateway(settings, mqtt)
        # Said at every start: users, tokens and alerts live there, and `gateway user`,
        # `backup` and `student forget` must be pointed at the same one.
        log.info("state database: %s", gateway.db.where)
    except GatewayStartError as exc:
        if sock is not None:
            sock.close()
        return start_failed(prog, exc)
    trace = MemoryTrace(settings.tracemalloc) if settings.tracemalloc else None
    trimmer = HeapTrimmer()
    try:
        trimmer.start()
        if trace is not None:
            trace.start()
        # Inside the try: a SIGTERM while it starts (a service manager, or the parent-death
        # signal of a bench that was killed) still stops what has started, in order.
        if gateway.worker is not None:
            # Another process took this worker's id after it missed its heartbeats: stop in
            # order (a service manager starts it again under its id once that is free).
            gateway.worker.on_lost = lambda why: signal.raise_signal(signal.SIGTERM)
        gateway.start()
        if sock is not None:
            # With the API on, uvicorn owns SIGINT and SIGTERM; a SIGHUP (the terminal went
            # away) is made a SIGTERM, so that it too ends the gateway in order.
            signal.signal(signal.SIGHUP, lambda *_: signal.raise_signal(signal.SIGTERM))
            server = ApiServer(gateway, sock)
            collector.settle()
            server.serve_forever()
        else:
            collector.settle()
            wait_for_signal()
    finally:
        gateway.stop()
        trimmer.stop()
        if trace is not None:
            trace.stop()
    return 0
