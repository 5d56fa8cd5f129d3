"""`campusedge bench modbus`: polling Modbus devices through our poller and codec, TCP and RTU.

`campusedge simulate modbus` serves `--devices` units with the register map of `--model` in a
child process, on a TCP port and on an RTU line (a pty pair). For each link, the same units
are polled in turns by our path (edge/transports/modbus.py's poller, each frame decoded by
drivers/modbus.py into checked readings) and by the baseline, pymodbus's own client of the
same class and settings reading the same blocks of registers with nothing done to them. Over
TCP both are connected at once and take a round of every unit in turn; an RTU line has one
master at a time, so there the paths take `--turns` turns each. Either way a change in the
machine's load falls on both alike.

For each: readings per second (the baseline's: the points its reads covered), polls per
second, p50/p99 latency of one unit's poll (requests, and for ours the decoding), errors
(polls without an answer, frames the codec refused). `overhead_pct` is how much longer ours
takes per reading than the baseline: 100 x (baseline rate / our rate - 1); the target is at
most 20. A pty does not pace bytes to the baud rate: the RTU figures are the software's cost,
not a 9600-baud line's (one poll of 3 registers takes about 30 ms on such a line).

Last line: {"devices", "model", "seconds", "load_1m", "tcp": {...}, "rtu": {...}}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from campusedge.paths import firmware_configs_dir
from campusedge.processes import child_options, stop_group
from campusedge.words import _, error_line, error_text
from drivers import modbus
from drivers.base import DecodeError
from edge.config import ConfigError, load_model
from edge.transports.modbus import ModbusPoller

TARGET_OVERHEAD_PCT = 20.0
# Of the RTU line; a pty does not pace bytes to it, but pymodbus times its frames by it.
BAUDRATE = 115200


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--devices", type=int, default=32, help="units polled on each link")
    parser.add_argument("--model", default="modbus_ce_env30", help="device-model file name")
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="measured time per link and path"
    )
    parser.add_argument("--turns", type=int, default=10, help="RTU: alternating turns per path")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")


@dataclass
class Tally:
    """What one path did over its turns."""

    elapsed_s: float = 0.0
    polls: int = 0
    readings: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)

        def pct(q: float) -> float | None:
            if not ordered:
                return None
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

        return {
            "readings_per_s": round(self.readings / self.elapsed_s, 1) if self.elapsed_s else 0,
            "polls_per_s": round(self.polls / self.elapsed_s, 1) if self.elapsed_s else 0,
            "p50_poll_ms": pct(0.5),
            "p99_poll_ms": pct(0.99),
            "errors": self.errors,
            "polls": self.polls,
        }


def _ours_round(poller: ModbusPoller, cfg: modbus.Config, tally: Tally) -> None:
    """Every unit polled once by our path: poller, then codec."""
    driver = modbus.Modbus()
    started = time.perf_counter()
    for source, unit in poller.units.items():
        t = time.perf_counter()
        frame = poller.poll(unit, poller.state[source])
        if frame is not None:
            try:
                tally.readings += sum(len(d.readings) for d in driver.decode(frame, cfg))
            except DecodeError:
                tally.errors += 1
        else:
            tally.errors += 1
        tally.latencies_ms.append((time.perf_counter() - t) * 1000)
        tally.polls += 1
    tally.elapsed_s += time.perf_counter() - started


def _baseline_round(
    client: ModbusTcpClient | ModbusSerialClient,
    blocks: tuple[modbus.Block, ...],
    units: list[int],
    points: int,
    tally: Tally,
) -> None:
    """Every unit's registers read once by pymodbus's client, nothing done with them."""
    started = time.perf_counter()
    for unit in units:
        t = time.perf_counter()
        ok = True
        for b in blocks:
            try:
                if b.register == "holding":
                    rr: ModbusPDU = client.read_holding_registers(
                        b.start, count=b.count, device_id=unit
                    )
                else:
                    rr = client.read_input_registers(b.start, count=b.count, device_id=unit)
            except ModbusException:
                ok = False
                break
            if rr.isError():
                ok = False
                break
        tally.latencies_ms.append((time.perf_counter() - t) * 1000)
        tally.polls += 1
        if ok:
            tally.readings += points
        else:
            tally.errors += 1
    tally.elapsed_s += time.perf_counter() - started


def _client(
    link: str, endpoint: str | int, cfg: modbus.Config
) -> ModbusTcpClient | ModbusSerialClient:
    if link == "tcp":
        return ModbusTcpClient(
            "127.0.0.1", port=int(endpoint), timeout=cfg.timeout_s, retries=cfg.retries
        )
    return ModbusSerialClient(
        str(endpoint), baudrate=BAUDRATE, timeout=cfg.timeout_s, retries=cfg.retries
    )


def _measure(
    link: str, endpoint: str | int, cfg: modbus.Config, devices: int, seconds: float, turns: int
) -> dict[str, Any]:
    units: dict[str | None, int] = {str(u): u for u in range(1, devices + 1)}
    kw: dict[str, Any] = (
        {"host": "127.0.0.1", "tcp_port": int(endpoint)}
        if link == "tcp"
        else {"serial_port": str(endpoint), "baudrate": BAUDRATE}
    )
    ours, base = Tally(), Tally()
    points = len(cfg.points)
    if link == "tcp":
        # Two connections at once, taking turns a round of every unit each: a change in the
        # machine's load falls on both alike.
        poller = ModbusPoller(cfg, units=units, **kw)
        client = _client(link, endpoint, cfg)
        poller.open()
        client.connect()
        try:
            while ours.elapsed_s + base.elapsed_s < 2 * seconds:
                _ours_round(poller, cfg, ours)
                _baseline_round(client, cfg.blocks, list(units.values()), points, base)
        finally:
            poller.close()
            client.close()  # type: ignore[no-untyped-call]
    else:
        # One master at a time on a line (two would read each other's answers): the paths
        # take turns of `seconds / turns` each.
        for _ in range(turns):
            poller = ModbusPoller(cfg, units=units, **kw)
            poller.open()
            try:
                end = ours.elapsed_s + seconds / turns
                while ours.elapsed_s < end:
                    _ours_round(poller, cfg, ours)
            finally:
                poller.close()
            client = _client(link, endpoint, cfg)
            client.connect()
            try:
                end = base.elapsed_s + seconds / turns
                while base.elapsed_s < end:
                    _baseline_round(client, cfg.blocks, list(units.values()), points, base)
            finally:
                client.close()  # type: ignore[no-untyped-call]
    ours_s, base_s = ours.summary(), base.summary()
    overhead = None
    if ours_s["readings_per_s"]:
        overhead = round(100 * (base_s["readings_per_s"] / ours_s["readings_per_s"] - 1), 1)
    return {
        "ours": ours_s,
        "baseline_pymodbus": base_s,
        "overhead_pct": overhead,
        "within_target": overhead is not None and overhead <= TARGET_OVERHEAD_PCT,
    }


def run(args: argparse.Namespace) -> int:
    prog = "campusedge bench modbus"
    if not 1 <= args.devices <= 247 or args.seconds <= 0 or args.turns < 1:
        raise SystemExit(
            _("{prog}: --devices 1..247, --seconds > 0, --turns >= 1").format(prog=prog)
        )
    try:
        model = load_model(firmware_configs_dir() / f"{args.model}.yaml")
    except ConfigError as exc:
        raise SystemExit(error_line(prog, error_text(exc))) from None
    cfg = modbus.Config.model_validate(model.config)
    # As fast as the devices answer; a lost answer waits its timeout once, no retry.
    cfg = modbus.Config.model_validate(
        {**cfg.model_dump(), "poll_interval_s": 1e-6, "timeout_s": 0.5, "retries": 0}
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from campusedge.cli import main; raise SystemExit(main())",
            "simulate",
            "modbus",
            "--model",
            args.model,
            "--devices",
            str(args.devices),
        ],
        stdout=subprocess.PIPE,
        text=True,
        **child_options(),
    )
    load_before = os.getloadavg()[0]
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        result: dict[str, Any] = {
            "devices": args.devices,
            "model": args.model,
            "seconds": args.seconds,
        }
        for link, endpoint in (("tcp", ready["tcp_port"]), ("rtu", ready["rtu_port"])):
            if not args.json:
                print(f"{link}: {args.devices} units ...", file=sys.stderr, flush=True)
            result[link] = _measure(link, endpoint, cfg, args.devices, args.seconds, args.turns)
    finally:
        stop_group(proc)
    result["load_1m"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    result["target_overhead_pct"] = TARGET_OVERHEAD_PCT
    print(json.dumps(result))
    return 0
