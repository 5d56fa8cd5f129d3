"""`campusedge bench ble`: band notifications through the BLE central and the virtual link.

`campusedge simulate ble-bands` runs in a child process twice with the same bands: first with
`--feed tcp`, the `ble_sim` record stream read by the simulated adapter (the baseline), then as
GATT peripherals on bumble's virtual link, read by the BLE central (HCI over TCP, L2CAP, ATT,
GATT). For each: the seconds until every band has delivered a notification, then over
`--seconds` the notifications per second received against the rate sent, the fewest any band
delivered, CPU seconds of the agent side (this process) and of the simulator, and the latency
from the simulator handing band 0's notification to its stack to `read()` returning it here
(both processes read the same wall clock; matched by the notification's bytes, so repeated
identical notifications count once in `latency_samples`).

Last line: {"bands", "sent_per_s", "ble": {...}, "baseline_tcp": {...}, "ratio"}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from campusedge.processes import child_options
from campusedge.words import _
from edge.transports.base import ByteTransport
from edge.transports.ble import SimulatedBleAdapter
from edge.transports.ble_central import BleCentral


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bands", type=int, default=40)
    parser.add_argument(
        "--period",
        type=float,
        default=1 / 6,
        help="seconds between one band's notifications (1/6: a lesson at 6x)",
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window per feed")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process *pid* (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _measure(feed: str, bands: int, period_s: float, seconds: float) -> dict[str, Any]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from campusedge.cli import main; raise SystemExit(main())",
            "simulate",
            "ble-bands",
            "--bands",
            str(bands),
            "--period",
            str(period_s),
            "--feed",
            feed,
            "--trace",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
        **child_options(),
    )
    sent: dict[str, float] = {}

    def read_events() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            event = json.loads(line)
            if event["event"] == "sent":
                sent[event["hex"]] = event["t"]

    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        kit = ready["bands"]
        reader = threading.Thread(target=read_events, daemon=True)
        reader.start()
        arrived: dict[str, float] = {}
        transport: ByteTransport
        if feed == "tcp":
            transport = SimulatedBleAdapter("127.0.0.1", ready["port"])
        else:
            transport = BleCentral(
                [f"tcp-client:127.0.0.1:{ready['hci_port']}"], kit, max_connections=bands
            )
        started = time.monotonic()
        transport.open()
        try:
            heard: set[str | None] = set()
            while len(heard) < bands and time.monotonic() - started < 120:
                heard |= {source for source, _ in transport.read(0.1)}
            all_heard_s = time.monotonic() - started
            counts: Counter[str | None] = Counter()
            cpu_agent, cpu_sim = time.process_time(), _cpu_s(proc.pid)
            window = time.monotonic()
            while time.monotonic() - window < seconds:
                chunks = transport.read(0.1)
                now = time.time()
                counts.update(source for source, _ in chunks)
                arrived.update((note.hex(), now) for source, note in chunks if source == kit[0])
            elapsed = time.monotonic() - window
            cpu_agent, cpu_sim = time.process_time() - cpu_agent, _cpu_s(proc.pid) - cpu_sim
        finally:
            transport.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # a simulator stuck in its stop: end it anyway
            proc.kill()
            proc.wait()
    reader.join(5)  # the simulator's last `sent` lines
    latencies = [(arrived[h] - sent[h]) * 1000 for h in arrived if h in sent]
    p50, p99 = _percentile(latencies, 0.5), _percentile(latencies, 0.99)
    result = {
        "all_bands_heard_s": round(all_heard_s, 2),
        "received_per_s": round(sum(counts.values()) / elapsed, 1),
        "fewest_per_band": min((counts[a] for a in kit), default=0),
        "cpu_agent_s": round(cpu_agent, 2),
        "cpu_simulator_s": round(cpu_sim, 2),
        "latency_ms_p50": None if p50 is None else round(p50, 2),
        "latency_ms_p99": None if p99 is None else round(p99, 2),
        "latency_samples": len(latencies),
    }
    if isinstance(transport, BleCentral):
        result["dropped"] = transport.dropped
    return result


def run(args: argparse.Namespace) -> int:
    if args.bands < 1 or args.period <= 0 or args.seconds <= 0:
        raise SystemExit(
            _("{prog}: --bands >= 1, --period and --seconds > 0").format(
                prog="campusedge bench ble"
            )
        )
    sent = args.bands / args.period
    if not args.json:
        print(
            f"{args.bands} bands, {sent:.0f} notifications/s sent; baseline tcp feed...",
            file=sys.stderr,
            flush=True,
        )
    baseline = _measure("tcp", args.bands, args.period, args.seconds)
    if not args.json:
        print(f"baseline: {baseline}\nBLE virtual link...", file=sys.stderr, flush=True)
    ble = _measure("ble", args.bands, args.period, args.seconds)
    print(
        json.dumps(
            {
                "bands": args.bands,
                "sent_per_s": round(sent, 1),
                "ble": ble,
                "baseline_tcp": baseline,
                "ratio": round(ble["received_per_s"] / baseline["received_per_s"], 3)
                if baseline["received_per_s"]
                else None,
            }
        )
    )
    return 0
