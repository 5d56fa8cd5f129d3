"""`campusedge broker`: Mosquitto when installed, else an in-process amqtt broker."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import signal
import subprocess
from pathlib import Path

from campusedge.broker import MosquittoProcess, find_mosquitto
from gateway.cli.common import setup_logging
from gateway.cli.language import gettext as _

log = logging.getLogger(__name__)

# How often the broker's log file size is looked at.
LOG_CHECK_S = 60.0


def parse_users(pairs: list[str]) -> dict[str, str]:
    users = {}
    for pair in pairs:
        name, sep, password = pair.partition(":")
        if not sep or not name or not password:
            raise SystemExit(_("--user {pair!r}: expected NAME:PASSWORD").format(pair=pair))
        users[name] = password
    return users


def session_expiry(value: str) -> str:
    if not re.fullmatch(r"[1-9][0-9]*[hdwmy]", value):
        raise argparse.ArgumentTypeError(
            f"{value!r}: expected a number and h, d, w, m or y (e.g. 7d)"
        )
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help=_(
            "address to listen on (0.0.0.0 for edge boxes on the network; "
            "then add TLS in front or on the listener)"
        ),
    )
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--data-dir", type=Path, default=Path("var/broker"))
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME:PASSWORD",
        help=_("a login (repeat for several); anonymous clients are refused"),
    )
    limits = parser.add_argument_group(_("limits (Mosquitto only)"))
    limits.add_argument(
        "--max-queued-messages",
        type=int,
        default=MosquittoProcess.max_queued,
        metavar="N",
        help=_(
            "messages queued per persistent session while its client is away (default %(default)s)"
        ),
    )
    limits.add_argument(
        "--max-queued-bytes",
        type=int,
        default=MosquittoProcess.max_queued_bytes,
        metavar="BYTES",
        help=_("bytes queued per persistent session (default %(default)s)"),
    )
    limits.add_argument(
        "--session-expiry",
        type=session_expiry,
        default=MosquittoProcess.session_expiry,
        metavar="DURATION",
        help=_(
            "remove a persistent session whose client has not come back for this long "
            "(a number and h, d, w, m or y; default %(default)s)"
        ),
    )
    limits.add_argument(
        "--max-log-bytes",
        type=int,
        default=50_000_000,
        metavar="BYTES",
        help=_("rotate mosquitto.log past this size, keeping 3 older files (default %(default)s)"),
    )
    parser.add_argument(
        "--embedded",
        action="store_true",
        help=_("use the in-process amqtt broker even if Mosquitto is installed"),
    )


def amqtt_config(host: str, port: int, password_file: Path) -> dict[str, object]:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": False},
            "amqtt.plugins.authentication.FileAuthPlugin": {"password_file": str(password_file)},
        },
    }


def write_amqtt_passwords(path: Path, users: dict[str, str]) -> None:
    from pwdlib.hashers.argon2 import Argon2Hasher

    hasher = Argon2Hasher()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{u}:{hasher.hash(p)}\n" for u, p in users.items()))
    path.chmod(0o600)


async def run_amqtt(
    port: int, data_dir: Path, users: dict[str, str], stop: asyncio.Event, host: str = "127.0.0.1"
) -> None:
    """Serve until *stop* is set. QoS 1 sessions live in memory: a demo broker, not production."""
    from amqtt.broker import Broker

    password_file = data_dir / "amqtt-passwords"
    write_amqtt_passwords(password_file, users)
    broker = Broker(amqtt_config(host, port, password_file))
    await broker.start()
    try:
        await stop.wait()
    finally:
        await broker.shutdown()


def run(args: argparse.Namespace) -> int:
    setup_logging()
    users = parse_users(args.user)
    if not users:
        users = {"campusedge": "campusedge"}
        log.warning(
            "no --user given: the only login is campusedge/campusedge; give your own "
            "with --user NAME:PASSWORD"
        )
    if not args.embedded and find_mosquitto():
        broker = MosquittoProcess(
            data_dir=args.data_dir,
            users=users,
            port=args.port,
            host=args.host,
            max_queued=args.max_queued_messages,
            max_queued_bytes=args.max_queued_bytes,
            session_expiry=args.session_expiry,
        )
        broker.write_config()
        # Forward SIGTERM and SIGHUP to Mosquitto; the wait below then returns and we clean up.
        # Set before the start: a SIGTERM while it starts would otherwise leave Mosquitto (in a
        # session of its own) running without us.
        terminated = False

        def on_sigterm(*_: object) -> None:
            nonlocal terminated
            terminated = True
            broker.terminate()

        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, on_sigterm)
        try:
            broker.start()
        except RuntimeError:
            if not terminated:
                raise
            return 0  # stopped while it started: nothing to wait for
        log.info(
            "mosquitto listening on %s:%d (config %s)", args.host, args.port, broker.config_path
        )
        with contextlib.suppress(KeyboardInterrupt):
            while not terminated and broker.running():
                # Mosquitto writes its log file itself and never rotates it.
                broker.rotate_log(args.max_log_bytes)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    broker.wait(timeout=LOG_CHECK_S)
        broker.stop()
        return 0
    log.info(
        "mosquitto not found: running the in-process amqtt broker on %s:%d", args.host, args.port
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        await run_amqtt(args.port, args.data_dir, users, stop, args.host)

    asyncio.run(main())
    return 0
