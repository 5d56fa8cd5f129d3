"""`campusedge simulate modbus`: Modbus devices on a pymodbus server, over TCP and RTU.

Serves `--devices` units (1..N) with the register map of a device-model file, on a TCP port
and on an RTU line (a pty pair: the agent opens `rtu_port`), their values moving each
`--tick` seconds. Prints one JSON line `{"event": "ready", "tcp_port": …, "rtu_port": …}`
and runs until interrupted or `--duration` has passed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from pydantic import ValidationError

from campusedge.words import _
from simulators.cli_help import DefaultsHelpFormatter
from simulators.modbus import ModbusSimulator, model_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = DefaultsHelpFormatter
    parser.add_argument("--model", default="modbus_ce_env30", help="device-model file name")
    parser.add_argument("--devices", type=int, default=4, help="units 1..N on each link")
    parser.add_argument(
        "--transport", choices=["tcp", "rtu", "both"], default="both", help="links to serve"
    )
    parser.add_argument(
        "--baudrate", type=int, default=115200, help="of the RTU line (a pty does not pace it)"
    )
    parser.add_argument("--tick", type=float, default=1.0, help="seconds between value changes")
    parser.add_argument(
        "--duration", type=float, default=None, help="seconds to run (default: until interrupted)"
    )


def run(args: argparse.Namespace) -> int:
    prog = "campusedge simulate modbus"
    if not 1 <= args.devices <= 247 or args.tick <= 0:
        raise SystemExit(
            _("{prog}: --devices 1..247 (Modbus unit numbers), --tick > 0").format(prog=prog)
        )
    try:
        cfg = model_config(args.model)
    except (OSError, ValueError, ValidationError) as exc:
        raise SystemExit(
            _("{prog}: device model {model}: {error}").format(
                prog=prog, model=args.model, error=exc
            )
        ) from None
    units = range(1, args.devices + 1)
    sims = {
        t: ModbusSimulator(cfg, units, transport=t, baudrate=args.baudrate)
        for t in (["tcp", "rtu"] if args.transport == "both" else [args.transport])
    }
    try:
        ready: dict[str, object] = {"event": "ready", "devices": args.devices, "model": args.model}
        if "tcp" in sims:
            ready["tcp_port"] = sims["tcp"].port
        if "rtu" in sims:
            ready["rtu_port"] = sims["rtu"].serial_port
        print(json.dumps(ready), flush=True)
        start = time.monotonic()
        while args.duration is None or time.monotonic() - start < args.duration:
            time.sleep(args.tick)
            for sim in sims.values():
                sim.tick()
    except KeyboardInterrupt:
        pass
    finally:
        for sim in sims.values():
            sim.close()
        print(
            json.dumps({"event": "done", "requests": {t: s.requests for t, s in sims.items()}}),
            file=sys.stderr,
        )
    return 0
