"""`campusedge bench outage`: a lesson through a real Mosquitto that is stopped mid-lesson.

The lesson's virtual bands and ropes feed an edge agent (`campusedge edge run`, its own
process) that publishes to a Mosquitto this command starts; the gateway (`campusedge gateway
run`, its own process) stores what arrives in SQLite. After `--outage-at` seconds the broker
is stopped for `--outage` seconds and started again (same port, same persistence). When the
lesson is over and the agent has drained its buffer, the gateway's database is read directly:
every message the agent published must be stored exactly once, in per-device order.

Last line: {"published", "stored", "lost", "duplicates_stored", "max_buffered", …}. The
baseline, measured in the same run, is the phase before the outage: its publish rate and
how long a message took to be stored then.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import secrets
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from campusedge.broker import MosquittoProcess
from campusedge.processes import child_options, stop_group
from campusedge.settings import MqttSettings
from campusedge.words import _
from simulators.faults import Faults
from simulators.scenario import EdgeProcess
from simulators.scenarios.lesson import Lesson

GATEWAY_CMD = (
    "{python} -m campusedge.cli gateway run --db {db} --mqtt-host {host} "
    "--mqtt-port {port} --mqtt-username {username} --school {school} --api-port 0"
)
SCHOOL = "bench-school"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--minutes", type=float, default=15, help="lesson length (scenario)")
    parser.add_argument(
        "--speed",
        type=float,
        default=6.0,
        help="scenario speed; 40 bands at 6x send 240 notifications/s",
    )
    parser.add_argument("--outage", type=float, default=60.0, help="broker down, seconds")
    parser.add_argument(
        "--outage-at",
        type=float,
        default=40.0,
        help="wall seconds into the lesson when the broker stops",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=240.0,
        help="max seconds to wait for the store to catch up at the end",
    )
    parser.add_argument(
        "--gateway-cmd",
        default=GATEWAY_CMD,
        help="receiver command template ({python} {db} {host} {port} "
        "{username} {password} {school}); the password is also in "
        "CAMPUSEDGE_MQTT_PASSWORD",
    )
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print only the JSON line")


def _stored(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # the gateway has not created its tables yet


# The gateway says this once the broker has taken its subscriptions (SUBACK).
SUBSCRIBED_LINE = b"gateway.ingest: connected to "


def _wait_subscribed(gateway: subprocess.Popen[bytes], log: Path, custom: bool) -> None:
    """Return once the receiver has subscribed. Its session is new: what the box publishes
    before has no subscription to be queued for, and the broker drops it after its PUBACK.
    (A fixed 2 s wait once lost the first readings of 4 bands on a busy machine, where the
    gateway took longer to start.) A custom receiver says nothing we know: it gets 2 s."""
    deadline = time.monotonic() + (2 if custom else 60)
    while time.monotonic() < deadline:
        if gateway.poll() is not None:
            raise RuntimeError(f"the gateway exited ({gateway.returncode}); see {log}")
        if not custom and SUBSCRIBED_LINE in log.read_bytes():
            return
        time.sleep(0.1)
    if not custom:
        raise RuntimeError(f"the gateway did not subscribe within 60 s; see {log}")


def _parse_ts(value: Any) -> float:
    from datetime import datetime

    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value)).timestamp()


def analyse(db: Path, outage_start_wall: float, outage_end_wall: float) -> dict[str, Any]:
    """Count, duplicates and order from the gateway's database."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT rowid, device_id, seq, ts, received_at FROM messages"
        ).fetchall()
        values = int(conn.execute("SELECT COUNT(*) FROM readings").fetchone()[0])
    # (device_id, seq) is a message's identity: the agent writes the sequence number into the
    # buffered payload itself, so a replay can only repeat it, never re-number it. Counted
    # without relying on the store's primary key.
    distinct = {(r[1], r[2]) for r in rows}
    by_device: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for rowid, device_id, seq, *_rest in rows:
        by_device[device_id].append((rowid, seq))
    order_violations = 0
    gaps = 0
    for items in by_device.values():
        seqs = [seq for _, seq in sorted(items)]
        order_violations += sum(1 for a, b in itertools.pairwise(seqs) if b < a)
        # A fresh buffer starts each device at the wall clock in ms, not at 0: gaps are
        # counted from the lowest number stored (one lost before it shows in `lost`).
        gaps += max(seqs) - min(seqs) + 1 - len(set(seqs))
    latencies = []
    backlog_stored_at = outage_end_wall
    for r in rows:
        try:
            received, stamped = _parse_ts(r[4]), _parse_ts(r[3])
        except (TypeError, ValueError):
            continue
        if received < outage_start_wall:
            latencies.append(received - stamped)
        if stamped < outage_end_wall:
            backlog_stored_at = max(backlog_stored_at, received)
    latencies.sort()
    return {
        "stored": len(rows),
        "values": values,
        "duplicates_stored": len(rows) - len(distinct),
        "order_violations": order_violations,
        "seq_gaps": gaps,
        "devices": len(by_device),
        "baseline_p50_store_latency_s": round(latencies[len(latencies) // 2], 3)
        if latencies
        else None,
        # From the broker's restart until the last message buffered during the outage was
        # stored: how long the replay took.
        "replay_s": round(backlog_stored_at - outage_end_wall, 1),
    }


def run(args: argparse.Namespace) -> int:
    def say(text: str) -> None:
        if not args.json:
            print(text, file=sys.stderr, flush=True)

    lesson_s = args.minutes * 60 / args.speed
    if args.outage_at + args.outage >= lesson_s:
        # Checked before anything starts: the broker must come back while the lesson runs.
        print(
            _(
                "{prog}: the lesson lasts {lesson} s (--minutes {minutes} at --speed {speed}), "
                "so an outage from {outage_at} s for {outage} s would outlast it; use a longer "
                "--minutes, a lower --speed or a smaller --outage-at/--outage"
            ).format(
                prog="campusedge bench outage",
                lesson=f"{lesson_s:.0f}",
                minutes=f"{args.minutes:g}",
                speed=f"{args.speed:g}",
                outage_at=f"{args.outage_at:g}",
                outage=f"{args.outage:g}",
            ),
            file=sys.stderr,
        )
        return 2
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="campusedge-bench-outage-"))
    workdir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    broker = MosquittoProcess(data_dir=workdir / "broker", users={"bench": password})
    broker.start()
    mqtt = MqttSettings(
        host=broker.host, port=broker.port, username="bench", password=SecretStr(password)
    )
    db = workdir / "gateway.db"
    cmd = shlex.split(
        args.gateway_cmd.format(
            python=shlex.quote(sys.executable),
            db=shlex.quote(str(db)),
            host=broker.host,
            port=broker.port,
            username="bench",
            password=shlex.quote(password),
            school=SCHOOL,
        )
    )
    gw_log = open(workdir / "gateway.log", "wb")  # noqa: SIM115 - lives with the child
    # The password travels in the environment: on argv a leading "-" (token_urlsafe makes
    # one in 1 of 64 runs) reads as an option, and argv is visible to other users.
    try:
        gateway = subprocess.Popen(
            cmd,
            stdout=gw_log,
            stderr=gw_log,
            env={**os.environ, "CAMPUSEDGE_MQTT_PASSWORD": password},
            **child_options(),
        )
    except BaseException:
        broker.stop()
        raise
    lesson = Lesson.build(args.students, args.minutes, Faults(), args.seed)
    lesson.write_box(workdir / "box.yaml", SCHOOL, "bench-box", workdir / "buffer.db")
    edge = EdgeProcess(workdir / "box.yaml", mqtt, workdir / "edge-stats.json")
    edge_stats: dict[str, Any] = {}
    try:
        _wait_subscribed(gateway, workdir / "gateway.log", custom=args.gateway_cmd != GATEWAY_CMD)
        edge.start()
        assert edge.proc is not None
        lesson.wait_connected(30, edge.proc.pid)
        marks: dict[str, float] = {}

        def on_tick(t: float, wall: float) -> None:
            if "stop" not in marks and wall >= args.outage_at:
                marks["stop"] = wall
                marks["stop_epoch"] = time.time()
                marks["stored_before"] = _stored(db)
                say(f"stopping the broker at {wall:.0f} s for {args.outage:g} s")
                broker.stop()
            elif "stop" in marks and "start" not in marks and wall >= marks["stop"] + args.outage:
                marks["start"] = wall
                marks["start_epoch"] = time.time()
                say(f"starting the broker again at {wall:.0f} s")
                broker.start()

        wall = lesson.play(args.speed, on_tick)
        if "start" not in marks:
            if "stop" in marks:
                broker.start()
            raise RuntimeError(
                f"the lesson ({wall:.0f} s) ended before the outage was over; "
                "use a longer --minutes or a smaller --outage-at"
            )
        say(f"lesson over after {wall:.0f} s; draining the edge buffer")
        edge_stats = edge.stop()
        published = int(edge_stats["messages"])
        end = time.monotonic() + args.settle
        while _stored(db) < published and time.monotonic() < end:
            time.sleep(0.5)
        time.sleep(1.0)  # a last redelivery, were there one, would land now
    finally:
        if edge.proc is not None and edge.proc.poll() is None:
            edge.proc.kill()
        stop_group(gateway, 20)  # the gateway and its MQTT process
        broker.stop()
        lesson.close()
    facts = analyse(db, marks["stop_epoch"], marks["start_epoch"])
    result = {
        "published": published,
        "stored": facts["stored"],
        "lost": published - facts["stored"],
        "duplicates_stored": facts["duplicates_stored"],
        "max_buffered": int(edge_stats["max_buffered"]),
        "order_violations": facts["order_violations"],
        "seq_gaps": facts["seq_gaps"],
        "devices": facts["devices"],
        # Messages (one per band notification or rope frame) and the metric values they carry.
        "messages_per_s": round(published / wall, 1),
        "readings_per_s": round(facts["values"] / wall, 1),
        "outage_s": args.outage,
        "replay_s": facts["replay_s"],
        "lesson_wall_s": round(wall, 1),
        "decode_errors": edge_stats["decode_errors"],
        "edge_peak_rss_mb": edge_stats["peak_rss_mb"],
        "baseline": {
            "stored_before_outage": marks.get("stored_before"),
            "p50_store_latency_s": facts["baseline_p50_store_latency_s"],
        },
    }
    print(json.dumps(result))
    ok = (
        result["lost"] == 0 and result["duplicates_stored"] == 0 and result["order_violations"] == 0
    )
    return 0 if ok else 1
