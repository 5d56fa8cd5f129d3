"""`campusedge bench district`: gateway workers sharing one broker and one PostgreSQL, one killed.

The bench makes a database of its own on the PostgreSQL server it is given (and drops it at
the end), enrols `--schools` schools with `--devices` heart-rate bands each, and starts a
Mosquitto of its own. Both workers store into one SQLite readings file (keyed by school,
device and sequence number, like the InfluxDB store's idempotent writes), so what is stored
can be counted exactly. Three phases:

1. one worker alone drains a backlog published while it was paused: `one_worker_rate_per_s`;
2. a second worker joins while readings are published at the failover phase's pace (schools
   move from one worker to the other under traffic); once the schools are shared, both drain
   a backlog: `rate_per_s`;
3. both workers holding their share and readings flowing at the failover phase's pace, rope
   results of a competition go the real way to the live leaderboard, followed over its SSE
   stream on one worker: `leaderboard_median_ms` and `leaderboard_p99_ms` from each result's
   publish to its showing (gateway.bench.district_board);
4. publishing at a steady pace, the first worker is killed with SIGKILL (with its MQTT
   process); `failover_s` runs from the kill until the survivor holds every school, and the
   run ends when everything published is stored, or after a timeout.

`lost` is what was published and is not stored; `duplicates_stored` counts keys stored more
than once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from campusedge.broker import MosquittoProcess, find_mosquitto, free_port
from campusedge.processes import child_options, stop_group
from campusedge.topics import Channel, DeviceKind, DeviceTopic
from gateway.bench import district_board
from gateway.bench.ingest import children
from gateway.bench.load import cpu_s, reading_payload
from gateway.cli.language import gettext as _
from gateway.district.leases import holders
from gateway.fleet.registry import FleetRegistry
from gateway.state import StateDB, state_url

USER, PASSWORD = "bench", "bench-password"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pg-url",
        required=True,
        help="a PostgreSQL server (postgresql://user:pass@host:port/postgres) where the bench "
        "may create and drop a database of its own",
    )
    parser.add_argument("--schools", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2, choices=[2])
    parser.add_argument("--devices", type=int, default=5, help="heart-rate bands per school")
    parser.add_argument("--backlog", type=int, default=20_000, help="messages per rate phase")
    parser.add_argument(
        "--failover-rate", type=float, default=1000.0, help="messages a second while killing"
    )
    parser.add_argument("--lease", type=float, default=10.0, help="the workers' lease time, s")
    parser.add_argument(
        "--board-sets", type=int, default=400, help="rope results sent to the leaderboard"
    )
    parser.add_argument(
        "--board-rate", type=float, default=40.0, help="rope results a second, round the schools"
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON result")


class Publisher:
    """One QoS 1 publisher over every school's devices, each device's seq counting up."""

    def __init__(self, broker: MosquittoProcess, schools: list[str], devices: int) -> None:
        self.topics = [
            (str(DeviceTopic(s, DeviceKind.HR_BAND, f"{s}-hr{d}", Channel.READING)), f"{s}-hr{d}")
            for s in schools
            for d in range(devices)
        ]
        self.seq = [0] * len(self.topics)
        self.published = 0
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-publisher")
        self.client.username_pw_set(USER, PASSWORD)
        self.client.max_inflight_messages_set(1000)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def publish(
        self, n: int, rate_per_s: float | None = None, until: threading.Event | None = None
    ) -> None:
        started = time.monotonic()
        last = None
        for i in range(n):
            if until is not None and until.is_set():
                break
            k = self.published % len(self.topics)
            self.seq[k] += 1
            topic, device = self.topics[k]
            last = self.client.publish(topic, reading_payload(device, self.seq[k], 80), qos=1)
            self.published += 1
            if rate_per_s:
                ahead = started + (i + 1) / rate_per_s - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        if last is not None:
            last.wait_for_publish(60)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Worker:
    """One `campusedge gateway run --worker-id` process."""

    def __init__(
        self, worker_id: str, broker: MosquittoProcess, state: str, store: Path, lease: float
    ) -> None:
        port = free_port()
        self.commit_log = store.with_name(f"{worker_id}.commits.db")
        self.api = f"http://127.0.0.1:{port}"
        self.url = f"{self.api}/healthz"
        env = {
            **os.environ,
            "CAMPUSEDGE_MQTT_PASSWORD": PASSWORD,
            "CAMPUSEDGE_STATE_DB": state,
            "CAMPUSEDGE_LOG_LEVEL": "WARNING",
            "CAMPUSEDGE_COMMIT_LOG": str(self.commit_log),
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "campusedge.cli",
                "gateway",
                "run",
                "--store-url",
                f"sqlite:///{store}",
                "--worker-id",
                worker_id,
                "--worker-lease",
                str(lease),
                "--api-port",
                str(port),
                "--mqtt-host",
                broker.host,
                "--mqtt-port",
                str(broker.port),
                "--mqtt-username",
                USER,
            ],
            env=env,
            **child_options(signal.SIGKILL, own_session=False),
        )
        self.http = httpx.Client(timeout=10)
        deadline = time.monotonic() + 60
        while not self._healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"worker {worker_id} did not become healthy")
            time.sleep(0.1)

    def _healthy(self) -> bool:
        try:
            return self.http.get(self.url).status_code == 200
        except httpx.HTTPError:
            return False

    def caught_up(self) -> bool:
        """Whether every consumer has read the worker's whole commit log."""
        consumers = self.http.get(self.url).json()["consumers"]
        return all(c["lag"] == 0 for c in consumers.values())

    def cpu_s(self) -> float:
        """CPU time (user + system) of the worker and its MQTT process so far."""
        return sum(cpu_s(pid) for pid in (self.proc.pid, *children(self.proc.pid)))

    def pause(self) -> None:
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.killpg(self.proc.pid, signal.SIGCONT)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            stop_group(self.proc)
        self.http.close()


def counts(store: Path) -> tuple[int, int]:
    """Messages stored, and keys stored more than once."""
    try:
        with sqlite3.connect(store, timeout=30) as conn:
            stored = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
            dupes = conn.execute(
                "SELECT COUNT(*) FROM (SELECT school, device_id, seq FROM messages "
                "GROUP BY school, device_id, seq HAVING COUNT(*) > 1)"
            ).fetchone()[0]
    except sqlite3.OperationalError:  # not made yet
        return 0, 0
    return int(stored), int(dupes)


# Messages stored (or committed) after a later one of the same device: their seq is below the
# highest seq of that device written before them (rowid / log position order).
_INVERSIONS = """
SELECT COUNT(*) FROM (
    SELECT seq, MAX(seq) OVER (
        PARTITION BY school, device_id ORDER BY {order}
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
    ) AS before FROM {table}{where}
) WHERE seq < before
"""


def order_inversions(store: Path, logs: list[Path]) -> tuple[int, int]:
    """Per-device order: messages written after a later one of their device, in the shared
    store (insertion order) and within each worker's commit log (position order, summed)."""
    with sqlite3.connect(store, timeout=30) as conn:
        in_store = conn.execute(
            _INVERSIONS.format(order="rowid", table="messages", where="")
        ).fetchone()[0]
    in_logs = 0
    for path in logs:
        with sqlite3.connect(path, timeout=30) as conn:
            in_logs += conn.execute(
                _INVERSIONS.format(
                    order="position", table="commits", where=" WHERE entry = 'message'"
                )
            ).fetchone()[0]
    return int(in_store), in_logs


def wait_stored(store: Path, target: int, timeout_s: float) -> float:
    """Seconds until *target* messages are stored (raises TimeoutError)."""
    started = time.monotonic()
    while counts(store)[0] < target:
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"{counts(store)[0]} of {target} stored after {timeout_s} s")
        time.sleep(0.05)
    return time.monotonic() - started


def wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"{what} did not happen within {timeout_s} s")
        time.sleep(0.1)
    return time.monotonic() - started


def run(args: argparse.Namespace) -> int:
    if find_mosquitto() is None:
        print(
            _("{prog} needs Mosquitto (Debian package 'mosquitto')").format(
                prog="campusedge bench district"
            ),
            file=sys.stderr,
        )
        return 2
    name = f"campusedge_bench_district_{os.getpid()}"
    admin_url = state_url(args.pg_url).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    state = admin_url.rsplit("/", 1)[0] + f"/{name}"
    schools = [f"school{i:03d}" for i in range(args.schools)]
    workers: list[Worker] = []
    with tempfile.TemporaryDirectory(prefix="campusedge-bench-district-") as tmp:
        work = Path(tmp)
        store = work / "readings.db"
        broker = MosquittoProcess(data_dir=work / "broker", users={USER: PASSWORD})
        broker.start()
        db = StateDB(state)
        try:
            registry = FleetRegistry(db)
            for school in schools:
                devices = [f"{school}-hr{d}" for d in range(args.devices)]
                registry.enrol_box(school, "box", devices + district_board.ropes(school))
            district_board.define(db, schools)
            publisher = Publisher(broker, schools, args.devices)
            ropes = district_board.Ropes(broker, USER, PASSWORD)
            try:
                result = phases(args, broker, state, store, db, publisher, ropes, workers, schools)
            finally:
                ropes.close()
                publisher.close()
        finally:
            for worker in workers:
                worker.stop()
            db.close()
            broker.stop()
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    if not args.json:
        print("\n".join(f"{k}: {v}" for k, v in result.items()), file=sys.stderr)
    print(json.dumps(result))
    return 0


def phases(
    args: argparse.Namespace,
    broker: MosquittoProcess,
    state: str,
    store: Path,
    db: StateDB,
    publisher: Publisher,
    ropes: district_board.Ropes,
    workers: list[Worker],
    schools: list[str],
) -> dict[str, object]:
    n = args.backlog

    def published() -> int:
        return publisher.published + ropes.published

    w1 = Worker("w1", broker, state, store, args.lease)
    workers.append(w1)
    wait_for(lambda: len(holders(db)) == len(schools), 30, "w1 holding every school")
    # 1: one worker drains a backlog.
    w1.pause()
    publisher.publish(n)
    cpu = w1.cpu_s()
    w1.resume()
    one = n / wait_stored(store, publisher.published, 120)
    one_cpu = (w1.cpu_s() - cpu) / n * 1000
    # 2: a second worker joins while readings keep coming (nothing may be lost as schools
    # move); both drain a backlog once the schools are shared and w1 has left w2's.
    joined = threading.Event()
    joining = threading.Thread(
        target=publisher.publish,
        args=(10**9,),
        kwargs={"rate_per_s": args.failover_rate, "until": joined},
    )
    joining.start()
    try:
        w2 = Worker("w2", broker, state, store, args.lease)
        workers.append(w2)
        share = -(-len(schools) // 2)

        def shared() -> bool:
            held = list(holders(db).values())
            return len(held) == len(schools) and held.count("w1") == share

        wait_for(shared, 4 * args.lease, "sharing the schools")
        time.sleep(args.lease)  # three heartbeats: w1 leaves the schools it gave up
    finally:
        joined.set()
        joining.join()
    wait_stored(store, published(), 60)
    for w in workers:
        w.pause()
    publisher.publish(n)
    cpus = [w.cpu_s() for w in workers]
    for w in workers:
        w.resume()
    two = n / wait_stored(store, publisher.published, 120)
    two_cpu = sum(w.cpu_s() - c for w, c in zip(workers, cpus, strict=True)) / n * 1000
    # 3: the leaderboard, read on w2 while both hold their share and readings keep coming;
    # from consumers caught up with the backlogs above, as in a district's steady day.
    wait_for(lambda: all(w.caught_up() for w in workers), 120, "the consumers catching up")
    reader = district_board.BoardReader(w2.api)
    background = threading.Thread(
        target=publisher.publish,
        args=(int(args.failover_rate * args.board_sets / args.board_rate),),
        kwargs={"rate_per_s": args.failover_rate},
    )
    background.start()
    try:
        board = district_board.measure(db, ropes, reader, schools, args.board_sets, args.board_rate)
    finally:
        background.join()
        reader.close()
    # 4: SIGKILL w1 mid-stream; the survivor takes every school and w1's session.
    stream = threading.Thread(
        target=publisher.publish,
        args=(int(args.failover_rate * 2 * args.lease),),
        kwargs={"rate_per_s": args.failover_rate},
    )
    stream.start()
    time.sleep(args.lease / 2)
    w1.kill()
    killed = time.monotonic()
    wait_for(
        lambda: set(holders(db).values()) == {"w2"} and len(holders(db)) == len(schools),
        4 * args.lease,
        "the survivor holding every school",
    )
    failover = time.monotonic() - killed
    stream.join()
    with contextlib.suppress(TimeoutError):  # what is missing by then is counted as lost
        wait_stored(store, published(), 60)
    stored, dupes = counts(store)
    in_store, in_logs = order_inversions(store, [w.commit_log for w in workers])
    return {
        "workers": 2,
        "schools": len(schools),
        "published": published(),
        "stored": stored,
        "lost": max(0, published() - stored),
        "duplicates_stored": dupes,
        "rate_per_s": round(two, 1),
        "one_worker_rate_per_s": round(one, 1),
        "failover_s": round(failover, 2),
        # CPU seconds of the workers (each with its MQTT process) per 1,000 messages drained.
        "one_worker_cpu_s_per_1k": round(one_cpu, 3),
        "workers_cpu_s_per_1k": round(two_cpu, 3),
        "leaderboard_median_ms": board["leaderboard_median_ms"],
        "leaderboard_p99_ms": board["leaderboard_p99_ms"],
        # The part of it up to the result's row committed by the worker holding the school.
        "leaderboard_stored_median_ms": board["leaderboard_stored_median_ms"],
        "leaderboard_stored_p99_ms": board["leaderboard_stored_p99_ms"],
        # Rope results sent to the board, and how many never showed within 30 s.
        "leaderboard_results": board["leaderboard_results"],
        "leaderboard_missing": board["leaderboard_missing"],
        # Per-device order (see docs/workers.md): messages written after a later one of
        # their device, in the store and within each worker's commit log.
        "order_inversions_store": in_store,
        "order_inversions_log": in_logs,
        "lease_s": args.lease,
    }
