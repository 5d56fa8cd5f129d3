"""`campusedge bench fitness-listener`: the cost of the fitness and live-lesson consumers.

Baseline: the store write ingest does for the same batches anyway (binding, store, commit
log). The consumers read the commit log on their own threads; the figure to watch is
`listener_share` = consumer time ÷ (store time + consumer time), the share of the CPU they
take beside ingest. The name is kept from when this work ran on the writer thread.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from campusedge.contract import TimeQuality
from campusedge.settings import MqttSettings
from campusedge.topics import DeviceKind
from gateway.cli.language import gettext as _
from gateway.roster import LessonKind
from gateway.service import Gateway, GatewaySettings
from gateway.store.base import StoredMessage

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument(
        "--devices",
        type=int,
        default=200,
        help="heart-rate bands on the bus, at least 80 (2 lessons of 40 wear one)",
    )
    parser.add_argument(
        "--results-every",
        type=int,
        default=100,
        help="one rope result event per this many messages",
    )


def _campus(gateway: Gateway, devices: int) -> None:
    roster = gateway.roster
    for c in range(2):
        roster.add_class(f"c{c}", "sch-bench", f"Class {c}", "5", "t1")
        kind = LessonKind.FITNESS_TEST if c == 0 else LessonKind.LESSON
        students = {}
        for s in range(40):
            sid = f"c{c}-s{s:02d}"
            roster.add_student(
                sid, f"Student {sid}", "M" if s % 2 else "F", date(2015, 1, 1 + s % 28), f"c{c}"
            )
            students[f"hr-{(c * 40 + s) % devices:04d}"] = sid
            students[f"rope-{c * 40 + s:04d}"] = sid
        roster.start_lesson(f"c{c}", "t1", kind, students, at=T0 - timedelta(minutes=5))


def _messages(count: int, devices: int, results_every: int) -> list[StoredMessage]:
    out = []
    for i in range(count):
        ts = T0 + timedelta(milliseconds=i * 5)
        if results_every and i % results_every == 0:
            out.append(
                StoredMessage(
                    school="sch-bench",
                    kind=DeviceKind.JUMP_ROPE,
                    device_id=f"rope-{(i // results_every) % 80:04d}",
                    seq=i,
                    ts=ts,
                    time_quality=TimeQuality.SYNCED,
                    received_at=ts,
                    readings=(
                        ("rope_count", float(100 + i % 50), "count"),
                        ("rope_elapsed", 60.0, "s"),
                    ),
                    event_type="rope_result",
                    attributes=(("mode", "countdown_time"), ("target", 60)),
                )
            )
            continue
        out.append(
            StoredMessage(
                school="sch-bench",
                kind=DeviceKind.HR_BAND,
                device_id=f"hr-{i % devices:04d}",
                seq=i,
                ts=ts,
                time_quality=TimeQuality.SYNCED,
                received_at=ts,
                readings=(("heart_rate", 100.0 + i % 60, "bpm"),),
            )
        )
    return out


def run(args: argparse.Namespace) -> int:
    if args.devices < 80:
        # Both lessons run at once and a band can be worn in only one running lesson.
        print(
            _(
                "{prog}: --devices must be at least 80 (two running lessons of 40 students, "
                "one band each)"
            ).format(prog="campusedge bench fitness-listener"),
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        settings = GatewaySettings(
            store_url=f"sqlite:///{Path(tmp) / 'readings.db'}",
            state_db=Path(tmp) / "state.db",
            api_port=0,
        )
        gateway = Gateway(settings, MqttSettings())
        _campus(gateway, args.devices)
        messages = _messages(args.messages, args.devices, args.results_every)
        store_s = listener_s = 0.0
        for i in range(0, len(messages), args.batch):
            chunk = messages[i : i + args.batch]
            started = time.perf_counter()
            bound = gateway.binder.bind_messages(chunk)
            gateway.store.write(bound)
            gateway.commit_log.append(bound)
            store_s += time.perf_counter() - started
            started = time.perf_counter()
            for name in ("fitness_results", "live_lessons"):
                gateway.consumers.runners[name].catch_up()
            listener_s += time.perf_counter() - started
        recorded = len(gateway.fitness_results.rows())
        gateway.store.close()
        gateway.commit_log.close()
        gateway.db.close()
    print(
        json.dumps(
            {
                "benchmark": "fitness-listener",
                "messages": len(messages),
                "batch": args.batch,
                "devices": args.devices,
                "results_recorded": recorded,
                "baseline_store_write_msgs_per_s": round(len(messages) / store_s),
                "listener_msgs_per_s": round(len(messages) / listener_s),
                "listener_ms_per_batch": round(
                    1000 * listener_s / -(-len(messages) // args.batch), 2
                ),
                "listener_share": round(listener_s / (store_s + listener_s), 3),
            }
        )
    )
    return 0
