"""`campusedge gateway run`: ingest from MQTT into the store and serve the API."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from gateway.cli.common import add_mqtt_arguments, mqtt_from_args, setup_logging
from gateway.ingest import IngestSettings
from gateway.service import Gateway, GatewaySettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, help="SQLite store file (shortcut for --store-url)")
    parser.add_argument("--store-url", help="sqlite:///path or influx://user:pass@host:port/db")
    parser.add_argument("--state-db", type=Path, help="roster/devices/users/alerts SQLite file")
    parser.add_argument("--school", help="school id to ingest ('+' for all)")
    parser.add_argument("--client-id", help="MQTT client id (one per gateway: it names the "
                        "persistent session)")
    parser.add_argument("--protocol", choices=["5", "3.1.1"])
    parser.add_argument("--api-host")
    parser.add_argument("--api-port", type=int, help="0 disables the HTTP API")
    parser.add_argument("--alerts-dir", type=Path, help="per-school alert configs "
                        "(<school>.yaml) and the district's warning_levels.yaml")
    parser.add_argument("-v", "--verbose", action="store_true")
    add_mqtt_arguments(parser)


def settings_from_args(args: argparse.Namespace) -> GatewaySettings:
    settings = GatewaySettings()
    updates: dict[str, Any] = {}
    if args.db is not None:
        updates["store_url"] = f"sqlite:///{args.db}"
        if args.state_db is None:
            updates["state_db"] = args.db.with_name(args.db.stem + "-state.db")
    if args.store_url:
        updates["store_url"] = args.store_url
    if args.state_db is not None:
        updates["state_db"] = args.state_db
    if args.alerts_dir is not None:
        updates["alerts_dir"] = args.alerts_dir
    for name in ("api_host", "api_port"):
        if getattr(args, name) is not None:
            updates[name] = getattr(args, name)
    ingest = {k: getattr(args, k) for k in ("school", "client_id", "protocol")
              if getattr(args, k) is not None}
    if ingest:
        updates["ingest"] = IngestSettings(**{**settings.ingest.model_dump(), **ingest})
    return settings.model_copy(update=updates)


def serve(gateway: Gateway) -> None:
    """Run until SIGINT/SIGTERM; with the API on, uvicorn owns the signals."""
    settings = gateway.settings
    if settings.api_port:
        import uvicorn

        from gateway.api.app import create_app

        class Server(uvicorn.Server):
            def handle_exit(self, sig: int, frame: FrameType | None) -> None:
                # End the open alert streams first: uvicorn waits for running responses,
                # and an SSE stream never finishes by itself.
                if gateway.alerts is not None:
                    gateway.alerts.hub.close()
                super().handle_exit(sig, frame)

        server = Server(uvicorn.Config(create_app(gateway), host=settings.api_host,
                                       port=settings.api_port, log_level="warning",
                                       # A stream that still does not end must not hold a stop.
                                       timeout_graceful_shutdown=3))
        server.run()
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def run(args: argparse.Namespace) -> int:
    setup_logging(args.verbose)
    gateway = Gateway(settings_from_args(args), mqtt_from_args(args))
    gateway.start()
    try:
        serve(gateway)
    finally:
        gateway.stop()
    return 0
