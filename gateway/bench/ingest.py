"""`campusedge bench ingest`: the gateway's ingest rate against a bare counting subscriber.

Each round, publisher processes fill a real Mosquitto at QoS 1 while the consumer is away (its
persistent session queues everything), then the consumer drains the backlog and its rate is
measured. Publishing and consuming do not overlap: on a campus the publishers are edge boxes
elsewhere, and on this 2-core machine they would otherwise take the consumer's CPU. Baseline
and gateway rounds alternate so that other load on the machine hits both alike; medians are
reported.

The baseline is away by disconnecting; the gateway (a process group: the gateway and its MQTT
process) by SIGSTOP, so that its session and connection stay as they would in service. The
baseline's rate runs from its first to its last message; the gateway's from the resume to its
last commit, which also counts its wake-up against it. RSS is of both gateway processes:
`rss_mb_idle` before any message, `rss_mb_start` after the first round (caches warmed),
`rss_mb_end` at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from campusedge.broker import MosquittoProcess, find_mosquitto, free_port
from campusedge.processes import child_options, stop_group
from campusedge.settings import MqttSettings
from gateway.bench.load import LoadSpec, bench_devices, cpu_s, rss_mb, run_publishers
from gateway.cli.language import gettext as _
from gateway.fleet.ca import CampusCA, write_private
from gateway.fleet.registry import FleetRegistry
from gateway.state import StateDB

USER, PASSWORD = "bench", "bench-password"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="publishing time per round and consumer"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--devices", type=int, default=50, help="devices per publisher")
    parser.add_argument(
        "--tls",
        action="store_true",
        help="TLS on the broker's listener (a CA of the bench's own) and an ACL, for the "
        "baseline, the publishers and the gateway alike",
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON result")


def children(pid: int) -> list[int]:
    """Child process ids of *pid*, from /proc (Linux)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.extend(int(c) for c in (task / "children").read_text().split())
    return found


def wait_until_stable(current: Callable[[], int], target: int, stall_s: float = 15.0) -> None:
    """Wait until *current()* reaches *target* or stops moving for *stall_s*."""
    seen, since = -1, time.monotonic()
    while True:
        value = current()
        if value >= target:
            return
        if value != seen:
            seen, since = value, time.monotonic()
        elif time.monotonic() - since > stall_s:
            return
        time.sleep(0.02)


class Baseline:
    """A paho subscriber that only counts (QoS 1, persistent session, automatic PUBACK)."""

    def __init__(self, broker: MosquittoProcess, school: str) -> None:
        self.broker, self.school = broker, school
        self.count = 0
        self.first = self.last = 0.0
        self._lock = threading.Lock()
        self._client: mqtt.Client | None = None
        self.connect()
        self.disconnect()

    def _on_message(self, *_: object) -> None:
        with self._lock:
            now = time.perf_counter()
            if not self.first:
                self.first = now
            self.count += 1
            self.last = now

    def connect(self) -> None:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="bench-baseline", clean_session=False
        )
        client.username_pw_set(USER, PASSWORD)
        if self.broker.tls:
            client.tls_set(ca_certs=str(self.broker.tls[0]))
        client.on_message = self._on_message
        subscribed = threading.Event()
        client.on_subscribe = lambda *_: subscribed.set()
        client.connect(self.broker.host, self.broker.port)
        client.loop_start()
        client.subscribe(f"campus/{self.school}/+/+/reading", qos=1)
        subscribed.wait(10)
        self._client = client

    def disconnect(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def drain(self, expected: int) -> float:
        self.count, self.first, self.last = 0, 0.0, 0.0
        self.connect()
        wait_until_stable(lambda: self.count, expected)
        self.disconnect()
        return self.count / (self.last - self.first) if self.last > self.first else 0.0


class GatewayProcess:
    """The whole gateway as a separate process, ingesting into SQLite; paused between drains."""

    def __init__(
        self,
        broker: MosquittoProcess,
        school: str,
        workdir: Path,
        paused_s: float,
        devices: list[str],
    ) -> None:
        self.db = workdir / "bench.db"
        state = workdir / "bench-state.db"
        # Enrolled, as a deployment's devices are: the bench measures strict enrolment too.
        registry_db = StateDB(state)
        try:
            FleetRegistry(registry_db).enrol_box(school, "bench-box", devices)
        finally:
            registry_db.close()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/healthz"
        # A frozen gateway sends no PINGREQ; a keepalive longer than the pause keeps the
        # broker from dropping it, as it would not drop a gateway in service.
        keepalive = min(3600, max(30, int(paused_s) + 30))
        env = {
            **os.environ,
            "CAMPUSEDGE_MQTT_PASSWORD": PASSWORD,
            "CAMPUSEDGE_MQTT_KEEPALIVE_S": str(keepalive),
            "CAMPUSEDGE_LOG_LEVEL": "WARNING",
            **({"CAMPUSEDGE_MQTT_TLS_CA": str(broker.tls[0])} if broker.tls else {}),
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "campusedge.cli",
                "gateway",
                "run",
                "--db",
                str(self.db),
                "--state-db",
                str(state),
                "--school",
                school,
                "--client-id",
                "bench-gateway",
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
            # The bench pauses the gateway and its MQTT process (SIGSTOP to the group): should
            # the bench die without continuing and stopping them, SIGKILL ends the gateway and
            # the kernel's SIGHUP to the orphaned stopped group ends its MQTT process.
            **child_options(signal.SIGKILL, own_session=False),
        )
        self.http = httpx.Client(timeout=10)
        self._before = 0
        # CPU µs a message of the last drain cost the gateway's process and its MQTT process.
        self.cpu_us_per_message = (0.0, 0.0)
        deadline = time.monotonic() + 30
        try:
            while not self._healthy():
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the gateway did not become healthy")
                time.sleep(0.1)
        except BaseException:
            self.stop()
            raise

    def _healthy(self) -> bool:
        try:
            return self.http.get(self.url).status_code == 200
        except httpx.HTTPError:
            return False

    def stored(self) -> int:
        return self._health()[0]

    def _health(self) -> tuple[int, float]:
        """Messages stored so far, and when (perf_counter) the last commit happened."""
        asked = time.perf_counter()
        body = self.http.get(self.url).json()
        age = body["last_commit_age_s"]
        return int(body["stored"]), asked - (age if age is not None else 0.0)

    def pause(self) -> None:
        self._before = self.stored()
        # The whole process group: the gateway and its MQTT process.
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def drain(self, expected_total: int) -> float:
        """Messages per second from the resume to the last commit.

        The end is the gateway's own time of its last commit (from /healthz), not the time
        a poll noticed it, so the polling interval does not count against it; and since it
        does not, polling is slow (every 250 ms): each request takes the gateway's CPU, which
        the counting baseline is not asked to spend.
        """
        before = self._before
        last = 0.0
        seen = before
        mqtt = children(self.proc.pid)
        cpu_before = cpu_s(self.proc.pid), sum(cpu_s(pid) for pid in mqtt)
        os.killpg(self.proc.pid, signal.SIGCONT)
        started = time.perf_counter()
        stall = time.monotonic()
        while seen < expected_total and time.monotonic() - stall < 15:
            value, committed_at = self._health()
            if value != seen:
                last, seen, stall = committed_at, value, time.monotonic()
            time.sleep(0.25)
        # What the drain cost each process (the polls after the last commit add a little).
        taken = max(1, seen - before)
        self.cpu_us_per_message = (
            (cpu_s(self.proc.pid) - cpu_before[0]) / taken * 1e6,
            (sum(cpu_s(pid) for pid in mqtt) - cpu_before[1]) / taken * 1e6,
        )
        return (seen - before) / (last - started) if last > started else 0.0

    def rss_mb(self) -> float:
        """Resident memory of the gateway and its MQTT child process together."""
        return sum(rss_mb(pid) for pid in (self.proc.pid, *children(self.proc.pid)))

    def stop(self) -> None:
        # The whole group, continued first: the gateway may be paused, and its MQTT process
        # must not outlive it.
        stop_group(self.proc)
        self.http.close()

    def counts(self) -> tuple[int, int]:
        with sqlite3.connect(self.db) as conn:
            stored = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
            dupes = conn.execute(
                "SELECT COUNT(*) FROM (SELECT school, device_id, seq FROM messages "
                "GROUP BY school, device_id, seq HAVING COUNT(*) > 1)"
            ).fetchone()[0]
        return int(stored), int(dupes)


def secured(work: Path) -> tuple[tuple[Path, Path, Path], Path]:
    """The broker's TLS files from a CA made for this run, and an ACL as a deployment has one
    (the broker checks it on every publish and delivery): the bench's user may use its topics."""
    ca = CampusCA.open(work / "ca")
    key, cert = ca.issue("bench broker", server_names=["127.0.0.1", "localhost"])
    write_private(work / "ca" / "broker.key", key)
    (work / "ca" / "broker.crt").write_bytes(cert)
    acl = work / "acl"
    acl.write_text(f"user {USER}\ntopic readwrite campus/#\n")
    return (ca.cert_path, work / "ca" / "broker.crt", work / "ca" / "broker.key"), acl


def run(args: argparse.Namespace) -> int:
    if find_mosquitto() is None:
        print(
            _("{prog} needs Mosquitto (Debian package 'mosquitto')").format(
                prog="campusedge bench ingest"
            ),
            file=sys.stderr,
        )
        return 2
    mqtt_settings: MqttSettings
    with tempfile.TemporaryDirectory(prefix="campusedge-bench-") as tmp:
        work = Path(tmp)
        tls, acl = secured(work) if args.tls else (None, None)
        broker = MosquittoProcess(
            data_dir=work / "broker", users={USER: PASSWORD}, tls=tls, acl_file=acl
        )
        broker.start()
        mqtt_settings = MqttSettings(
            host=broker.host,
            port=broker.port,
            username=USER,
            password=PASSWORD,
            tls_ca=str(broker.tls[0]) if broker.tls else None,
        )
        try:
            gateway = GatewayProcess(
                broker,
                "benchgw",
                work,
                paused_s=2 * args.seconds + 30,
                devices=bench_devices(args.publishers, args.devices),
            )
        except BaseException:
            broker.stop()
            raise
        base_rates, gw_rates = [], []
        gw_cpu: list[tuple[float, float]] = []
        published = 0
        try:
            baseline = Baseline(broker, "benchbase")
            rss_idle = gateway.rss_mb()
            for round_no in range(args.rounds):
                # Each round continues every device's sequence, so nothing repeats a key.
                seq0 = round_no * 10_000_000
                n = run_publishers(
                    mqtt_settings,
                    LoadSpec("benchbase", args.devices, args.seconds, first_seq=seq0),
                    args.publishers,
                )
                base_rates.append(baseline.drain(n))
                gateway.pause()
                n = run_publishers(
                    mqtt_settings,
                    LoadSpec("benchgw", args.devices, args.seconds, first_seq=seq0),
                    args.publishers,
                )
                published += n
                gw_rates.append(gateway.drain(published))
                gw_cpu.append(gateway.cpu_us_per_message)
                if round_no == 0:
                    rss_start = gateway.rss_mb()  # after warm-up: caches filled once
                if not args.json:
                    print(
                        f"round {round_no + 1}: baseline {base_rates[-1]:.0f}/s, "
                        f"gateway {gw_rates[-1]:.0f}/s ({n} messages), "
                        f"gateway RSS {gateway.rss_mb():.1f} MB",
                        file=sys.stderr,
                    )
            rss_end = gateway.rss_mb()
        finally:
            gateway.stop()
            broker.stop()
        stored, dupes = gateway.counts()
    base, gw = statistics.median(base_rates), statistics.median(gw_rates)
    print(
        json.dumps(
            {
                "baseline_rate_per_s": round(base, 1),
                "rate_per_s": round(gw, 1),
                "ratio": round(gw / base, 3) if base else 0.0,
                "published": published,
                "stored": stored,
                "lost": max(0, published - stored),
                "duplicates_stored": dupes,
                "rss_mb_idle": round(rss_idle, 1),
                "rss_mb_start": round(rss_start, 1),
                "rss_mb_end": round(rss_end, 1),
                # Where the gateway's time goes: medians over the rounds.
                "gateway_cpu_us_per_message": round(statistics.median(c[0] for c in gw_cpu), 1),
                "mqtt_process_cpu_us_per_message": round(
                    statistics.median(c[1] for c in gw_cpu), 1
                ),
                "tls": bool(args.tls),
            }
        )
    )
    return 0
