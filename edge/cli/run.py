"""`campusedge edge run`: run an edge box from its firmware config."""

from __future__ import annotations

import argparse
import faulthandler
import json
import logging
import math
import signal
import sys
from pathlib import Path
from types import FrameType

from pydantic import SecretStr

from campusedge.credentials import CredentialsError, check_tls_files, load_credentials
from campusedge.settings import MqttSettings
from campusedge.words import _, error_line, error_text
from edge.agent import EdgeAgent
from edge.buffer import BufferOpenError
from edge.config import ConfigError, load_box

# What a stop gets beyond --drain before the process ends regardless: the device threads'
# 3 s, paho's disconnect (about 1 s, up to its 5 s connect timeout) and the buffer's close,
# with room for a loaded machine; with the default drain (10 s) it ends before the unit's
# TimeoutStopSec (30 s) would send SIGKILL, so that the stacks reach the journal.
STOP_GRACE_S = 15.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        required=True,
        type=Path,
        help=_("edge-box firmware config (firmware_configs/box_*.yaml)"),
    )
    parser.add_argument("--buffer", type=Path, help=_("buffer file (default: from the config)"))
    parser.add_argument("--mqtt-host", help=_("broker host (default: CAMPUSEDGE_MQTT_HOST)"))
    parser.add_argument("--mqtt-port", type=int)
    parser.add_argument("--mqtt-username")
    parser.add_argument("--mqtt-password")
    parser.add_argument("--duration", type=float, help=_("stop after this many seconds"))
    parser.add_argument(
        "--drain",
        type=float,
        default=10.0,
        help=_("seconds to keep publishing the buffer when stopping"),
    )
    parser.add_argument("--stats-out", type=Path, help=_("write the run's counters as JSON"))
    parser.add_argument("--log-level", default="INFO")


def mqtt_settings(args: argparse.Namespace, credentials: Path | None = None) -> MqttSettings:
    """Settings from the environment, then the box's credentials file, then the options."""
    base = MqttSettings()
    updates: dict[str, object] = load_credentials(credentials) if credentials else {}
    if args.mqtt_host:
        updates["host"] = args.mqtt_host
    if args.mqtt_port:
        updates["port"] = args.mqtt_port
    if args.mqtt_username:
        updates["username"] = args.mqtt_username
    if args.mqtt_password:
        updates["password"] = SecretStr(args.mqtt_password)
    return base.model_copy(update=updates)


def _deadline(seconds: float) -> None:
    """End the process *seconds* from now, every thread's stack on stderr first.

    However the stop goes, the process ends: a parent-death SIGTERM has nobody behind it to
    send a SIGKILL later, as a service manager would; should the stop hang, the log says
    where. No deadline for an endless drain, or where stderr is not a file.
    """
    if not math.isfinite(seconds) or seconds <= 0:
        return
    try:
        faulthandler.dump_traceback_later(seconds, exit=True)
    except (OSError, ValueError) as exc:
        log.warning("no deadline for the stop: %s", exc)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        box = load_box(args.config)
    except ConfigError as exc:
        print(error_line("campusedge edge run", error_text(exc)), file=sys.stderr)
        return 2
    credentials = box.box.mqtt_credentials
    try:
        settings = mqtt_settings(args, Path(credentials) if credentials else None)
        check_tls_files(settings)
    except CredentialsError as exc:
        print(error_line("campusedge edge run", error_text(exc)), file=sys.stderr)
        return 2
    try:
        agent = EdgeAgent(box, settings, buffer_path=args.buffer)
    except BufferOpenError as exc:
        print(
            _("{prog}: {error} (use --buffer PATH or create the folder)").format(
                prog="campusedge edge run", error=exc
            ),
            file=sys.stderr,
        )
        return 2

    def _stop(signum: int, frame: FrameType | None) -> None:
        # The first signal stops and drains the buffer for --drain seconds; a second one ends
        # the drain at once (what is unsent stays in the buffer file for the next start).
        if agent.stop_event.is_set():
            agent.abort_drain.set()
        else:
            _deadline(args.drain + STOP_GRACE_S)
        agent.stop_event.set()

    before = {sig: signal.signal(sig, _stop) for sig in STOP_SIGNALS}
    try:
        stats = agent.run(duration_s=args.duration, drain_s=args.drain)
    finally:
        # Stopped: nothing to end any more (a process that goes on, such as a test that ran
        # the command in its own process, must not be ended later by it or take its signals).
        faulthandler.cancel_dump_traceback_later()
        for sig, handler in before.items():
            signal.signal(sig, handler)
    if args.stats_out:
        args.stats_out.write_text(json.dumps(stats.__dict__) + "\n")
    print(json.dumps(stats.__dict__))
    return 0
