"""`campusedge simulate ble-bands`: heart-rate bands as GATT peripherals on a virtual BLE link.

Prints one JSON object a line: `ready` (with the HCI port when `--hci tcp-server:HOST:0` let
the system pick one), then `connected`, `subscribed`, `disconnected`, `out_of_range`,
`in_range` as they happen, and `done` with the counts at the end. `--feed tcp` serves the same
bands over the `ble_sim` record stream instead (`ready` gives its port): the baseline of
`campusedge bench ble`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import time
from typing import Any

from campusedge.words import _, error_line
from simulators.ble_link import BleBandLink, Outage, serve
from simulators.cli_help import DefaultsHelpFormatter
from simulators.hr_band import Band
from simulators.links import StreamServer, ble_record


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = DefaultsHelpFormatter
    parser.add_argument("--bands", type=int, default=4, help="bands of the class kit")
    parser.add_argument(
        "--first", type=int, default=1, help="index of the first band (addresses CE:5E:00:00:HH:LL)"
    )
    parser.add_argument(
        "--strangers",
        type=int,
        default=0,
        help="extra bands of another kit (index 0xFF00 up) advertising nearby",
    )
    parser.add_argument(
        "--hci",
        action="append",
        default=None,
        help="HCI transport an agent radio is reached on; repeat it for "
        "several radios (default: one, tcp-server:127.0.0.1:0)",
    )
    parser.add_argument("--period", type=float, default=1.0, help="seconds between notifications")
    parser.add_argument("--activity", type=float, default=0.6, help="0 rest .. 1 all-out")
    parser.add_argument(
        "--duration", type=float, default=None, help="seconds to run (default: until interrupted)"
    )
    parser.add_argument(
        "--outage",
        action="append",
        default=None,
        metavar="INDEX:AT_S:FOR_S",
        help="band number INDEX (0-based in --bands) leaves radio range for "
        "FOR_S seconds, AT_S seconds after a central first subscribed to it",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the bands")
    parser.add_argument(
        "--trace",
        type=int,
        default=None,
        metavar="INDEX",
        help="print a `sent` event (bytes, time) for each notification of "
        "band INDEX (0-based): for latency measurements",
    )
    parser.add_argument(
        "--feed",
        choices=["ble", "tcp"],
        default="ble",
        help="ble: GATT over the virtual link; tcp: the ble_sim record stream",
    )


def _emit(name: str, fields: dict[str, Any]) -> None:
    print(json.dumps({"event": name, **fields}), flush=True)


def run(args: argparse.Namespace) -> int:
    prog = "campusedge simulate ble-bands"
    if args.bands < 1 or args.first < 0 or args.first + args.bands > 0xFF00:
        raise SystemExit(
            _("{prog}: --bands must be at least 1 and the indexes below 0xFF00").format(prog=prog)
        )
    if args.strangers < 0 or args.period <= 0 or not 0 <= args.activity <= 1:
        raise SystemExit(
            _("{prog}: --strangers >= 0, --period > 0 and --activity 0..1").format(prog=prog)
        )
    try:
        outages = [Outage.parse(text) for text in args.outage or []]
    except ValueError as exc:
        raise SystemExit(error_line(prog, exc)) from None
    if args.trace is not None and not 0 <= args.trace < args.bands:
        raise SystemExit(
            _("{prog}: --trace INDEX is not one of the {bands} bands").format(
                prog=prog, bands=args.bands
            )
        )
    if any(o.index >= args.bands for o in outages):
        raise SystemExit(
            _("{prog}: an --outage INDEX is beyond --bands {bands}").format(
                prog=prog, bands=args.bands
            )
        )
    # The virtual controller warns of packets for links a central has just closed: noise here.
    logging.getLogger("bumble").setLevel(logging.ERROR)
    rng = random.Random(args.seed)
    bands = [Band(args.first + i, rng) for i in range(args.bands)]
    bands += [Band(0xFF00 + i, rng) for i in range(args.strangers)]

    if args.feed == "tcp":
        return _tcp_feed(bands, args.period, args.activity, args.duration, rng, args.trace)

    async def main() -> BleBandLink:
        return await serve(
            bands,
            args.hci or ["tcp-server:127.0.0.1:0"],
            period_s=args.period,
            activity=args.activity,
            duration_s=args.duration,
            outages=outages,
            rng=rng,
            on_event=_emit,
            trace=args.trace,
        )

    try:
        link = asyncio.run(main())
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(error_line(prog, exc), file=sys.stderr)
        return 1
    _emit(
        "done",
        {
            "bands": {
                p.band.address: {"connections": p.connections, "notifications": p.notifications}
                for p in link.peripherals
            }
        },
    )
    return 0


def _tcp_feed(
    bands: list[Band],
    period_s: float,
    activity: float,
    duration_s: float | None,
    rng: random.Random,
    trace: int | None,
) -> int:
    server = StreamServer()
    _emit("ready", {"port": server.port, "bands": [b.address for b in bands]})
    start = time.monotonic()
    due = [rng.uniform(0, period_s) for _ in bands]
    try:
        while duration_s is None or time.monotonic() - start < duration_s:
            t = time.monotonic() - start
            for i, band in enumerate(bands):
                if due[i] <= t:
                    due[i] += period_s
                    value = band.step(period_s, activity)
                    if i == trace and server.connected:
                        _emit("sent", {"hex": value.hex(), "t": time.time()})
                    server.write(ble_record(band.address, value))
            time.sleep(max(0.0, min(0.05, min(due) - (time.monotonic() - start))))
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0
