"""`campusedge bench soak`: a compressed school day, again and again, with faults at random.

Each round plays a morning at the temperature gates, a PE lesson with bands and ropes, and a
vision screening, each through its own edge agent (`campusedge edge run`, its own process and
buffer) into a real Mosquitto and one gateway (`campusedge gateway run`) on the SQLite store,
or with `--store influx` on an influxd of its own (password login, the password in the
gateway's environment). Meanwhile API readers poll the gateway, bursts of bad input hit its
reading topics, and at random times (seeded) the broker is restarted or killed -9, the
gateway is killed -9 and started again, or (influx store) influxd is stopped for 20–60 s and
started again on its data directory and port; device links drop and carry line noise inside
the scenarios. At the end every agent drains and the store is read directly: (device, seq)
rows of the SQLite file, or `message` points of the school per (device, seq) in InfluxDB.

Last line: {"published", "stored", "lost", "duplicates_stored", "rss_mb_start", "rss_mb_end",
"open_fds_start", "open_fds_end", "threads_start", "threads_end", "alerts_expected",
"alerts_delivered", "faults", "rss_mb_samples", "rss_mb_per_hour_late", …}. "start" is
measured once the first round is done on the gateway process then running, "end" on the one
running at the end; a gateway killed in between makes them two processes, which
`gateway_restarts` says. Its caches fill for longer than a round, so start and end alone
overstate growth: the gateway is sampled every minute (`rss_mb_samples`: minute, MB, and how
many times it had been restarted before), and the slope over the second half of the last
gateway's samples says whether its memory still grows.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import secrets
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from campusedge.broker import MosquittoProcess, free_port
from campusedge.influxd import InfluxProcess, PortTaken, find_influxd
from campusedge.mqtt_client import make_client
from campusedge.processes import Shutdown, popen
from campusedge.settings import MqttSettings
from campusedge.words import _, error_line
from simulators.faults import Faults
from simulators.scenario import EdgeProcess, Scenario
from simulators.scenarios.gate import MorningGate
from simulators.scenarios.lesson import Lesson
from simulators.scenarios.screening import ScreeningDay

SCHOOL = "soak-school"
STORES = ("sqlite", "influx")
# The faults each store can take; influx_stop stops the soak's own influxd.
FAULTS = {
    "sqlite": ("broker_restart", "broker_kill", "gateway_kill"),
    "influx": ("broker_restart", "broker_kill", "gateway_kill", "influx_stop"),
}
INFLUX_USER = "soak"
INFLUX_DB = "soak"
# How long influx_stop keeps InfluxDB down (wall seconds, drawn at random in between).
INFLUX_OUTAGE_S = (20.0, 60.0)
# How often the gateway's memory is sampled (wall seconds).
SAMPLE_EVERY_S = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to soak")
    parser.add_argument("--speed", type=float, default=8.0, help="scenario time per wall second")
    parser.add_argument("--students", type=int, default=30, help="per lesson")
    parser.add_argument(
        "--fault-every", type=float, default=60.0, help="mean wall seconds between faults"
    )
    parser.add_argument(
        "--store",
        choices=STORES,
        default="sqlite",
        help="the gateway's store: a SQLite file, or an influxd the soak starts on its own",
    )
    parser.add_argument(
        "--faults",
        help="which faults to inject, comma-separated, of broker_restart, broker_kill, "
        "gateway_kill and (with --store influx) influx_stop; default: all the store can take. "
        "Without gateway_kill the gateway is one process from start to end, so its memory, "
        "descriptors and threads compare as such",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--json", action="store_true", help="print only the JSON line")


def _proc_facts(pid: int) -> tuple[float, int, int]:
    """(RSS MB, open descriptors, threads) of *pid* and its children together (Linux /proc)."""
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids += [int(c) for c in (task / "children").read_text().split()]
    rss = fds = threads = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
                elif line.startswith("Threads:"):
                    threads += int(line.split()[1])
            fds += len(os.listdir(f"/proc/{p}/fd"))
        except FileNotFoundError:
            continue
    return round(rss / 1024, 1), fds, threads


class GatewayRunner:
    """The gateway as a child process in its own process group; killed and started at will.

    *influx*: the store is this influxd (its admin's password goes in the environment, never
    on the command line); without it, the SQLite file `readings.db`.
    """

    def __init__(
        self, workdir: Path, mqtt: MqttSettings, influx: InfluxProcess | None = None
    ) -> None:
        self.db = workdir / "readings.db"
        self.state = workdir / "state.db"
        self.port = free_port()
        self.mqtt = mqtt
        self.influx = influx
        self.log = open(workdir / "gateway.log", "ab")  # noqa: SIM115 - lives with the runs
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def start(self) -> None:
        assert self.mqtt.password is not None
        env = {
            **os.environ,
            "CAMPUSEDGE_MQTT_PASSWORD": self.mqtt.password.get_secret_value(),
            "CAMPUSEDGE_LOG_LEVEL": "WARNING",
        }
        if self.influx is not None and self.influx.admin is not None:
            user, password = self.influx.admin
            store = ["--store-url", f"influx://{user}@127.0.0.1:{self.influx.port}/{INFLUX_DB}"]
            env["CAMPUSEDGE_STORE_PASSWORD"] = password
        else:
            store = ["--db", str(self.db)]
        cmd = [
            sys.executable,
            "-m",
            "campusedge.cli",
            "gateway",
            "run",
            *store,
            "--state-db",
            str(self.state),
            "--school",
            SCHOOL,
            "--client-id",
            "soak-gateway",
            # Its simulated devices are made up by the scenario: none is enrolled.
            "--no-strict-enrolment",
            "--api-port",
            str(self.port),
            "--mqtt-host",
            self.mqtt.host,
            "--mqtt-port",
            str(self.mqtt.port),
            "--mqtt-username",
            self.mqtt.username or "",
        ]
        # Started again by the fault injector's thread after a gateway_kill.
        self.proc = popen(cmd, stdout=self.log, stderr=self.log, env=env)

    def wait_ready(self, timeout_s: float = 60) -> None:
        """Until /readyz answers 200: the gateway has subscribed (its first session is new, and
        what a box publishes before that has no session to be queued for and is dropped)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError("the gateway exited while starting; see gateway.log")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the gateway was not ready within {timeout_s:.0f} s; see gateway.log")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc is not None:
            # The MQTT child dies with its parent; make sure of the whole group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Flood:
    """Bursts of bad input on the school's reading topics: counted, never stored."""

    PAYLOADS = (b'{"v":1,', b"\x00\xff garbage", b"{}", b'{"v":1,"seq":-1}')

    def __init__(self, mqtt: MqttSettings, rng: random.Random) -> None:
        self.mqtt = mqtt
        self.rng = rng
        self.sent = 0

    def burst(self, count: int) -> None:
        client = make_client(self.mqtt, "soak-flood-" + secrets.token_hex(4), persistent=False)
        try:
            client.connect(self.mqtt.host, self.mqtt.port)
        except OSError:
            return  # the broker is down for a fault right now
        client.loop_start()
        infos = []
        for _i in range(count):
            payload = self.rng.choice(self.PAYLOADS)
            if self.rng.random() < 0.02:
                payload = os.urandom(60 * 1024)
            device = f"hr-bad-{self.rng.randrange(5)}"
            infos.append(client.publish(f"campus/{SCHOOL}/hr_band/{device}/reading", payload, 1))
        for info in infos:
            try:
                info.wait_for_publish(5)
            except RuntimeError:
                break
        self.sent += count
        client.loop_stop()
        client.disconnect()


def _scenarios(round_no: int, args: argparse.Namespace) -> list[tuple[str, Scenario]]:
    faults = Faults(drop_link_s=8.0, duplicate_rate=0.01, garbage_rate=0.01)
    # At the gate only repeats: a pass lost to a dropped link or line noise is a fever the
    # gateway never heard of, and the fever alerts are counted against what the gates sent.
    gate_faults = Faults(duplicate_rate=0.01)
    seed = args.seed * 1000 + round_no
    # Card ids new to every round, so each febrile child is an alert of its own.
    subjects = [f"C-{(round_no * 100_000 + i) * 2654435761 % 2**32:08X}" for i in range(300)]
    return [
        ("gate-box", MorningGate.build(300, 0.04, 6.0, gate_faults, seed, subjects=subjects)),
        ("pe-box", Lesson.build(args.students, 8.0, faults, seed)),
        ("screen-box", ScreeningDay.build(60, 3.0, faults, seed)),
    ]


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _influx_counts(influx: InfluxProcess) -> tuple[int, int]:
    """(message points, distinct (device, seq)) of the school in InfluxDB; (0, 0) while it is
    down or the database not made yet. The store keys a message by (school, device, seq) and
    its point time by the device time (gateway/store/influx.py), so a (device, seq) stored
    twice is two points with one seq."""
    try:
        answer = json.loads(
            influx.query(
                f"SELECT count(seq), count(distinct(seq)) FROM {INFLUX_DB}..message "
                f"WHERE school = '{SCHOOL}' GROUP BY device_id"
            )
        )
    except OSError:
        return 0, 0
    points = distinct = 0
    for result in answer.get("results", []):
        for series in result.get("series", []):
            for row in series["values"]:
                points += int(row[1])
                distinct += int(row[2])
    return points, distinct


def _stored(gateway: GatewayRunner) -> tuple[int, int]:
    """(messages stored, distinct (device, seq) among them)."""
    if gateway.influx is not None:
        return _influx_counts(gateway.influx)
    stored = _count(gateway.db, "SELECT COUNT(*) FROM messages")
    distinct = _count(
        gateway.db, "SELECT COUNT(*) FROM (SELECT DISTINCT device_id, seq FROM messages)"
    )
    return stored, distinct


def _start_influx(influx: InfluxProcess) -> None:
    """Start it on a free port, another one if that was taken meanwhile; later starts (after
    influx_stop) keep the port, as a server that comes back does."""
    for attempt in range(3):
        try:
            influx.start()
            return
        except PortTaken:
            if attempt == 2:
                raise
            influx.port = free_port()


def _late_trend(samples: list[tuple[float, float, int]]) -> float | None:
    """MB an hour by least squares over the second half of the samples of the gateway process
    running at the end; None with fewer than four. Start and end alone compare a process
    whose caches were still filling with one that has settled: the late slope says whether
    it still grows."""
    if not samples:
        return None
    last = samples[-1][2]
    own = [(m, r) for m, r, restarts in samples if restarts == last]
    late = own[len(own) // 2 :]
    if len(late) < 4:
        return None
    slope, _intercept = statistics.linear_regression([m for m, _ in late], [r for _, r in late])
    return round(slope * 60, 1)


def _fault_kinds(store: str, given: str | None) -> list[str] | str:
    """The faults to inject, or what is wrong with *given*."""
    if given is None:
        return list(FAULTS[store])
    kinds = [f for f in given.split(",") if f]
    if "influx_stop" in kinds and store != "influx":
        return "influx_stop stops the soak's InfluxDB: it needs --store influx"
    unknown = set(kinds) - set(FAULTS[store])
    if unknown or not kinds:
        return _("--faults takes some of {faults}, not {given!r}").format(
            faults=", ".join(FAULTS[store]), given=given
        )
    return kinds


def run(args: argparse.Namespace) -> int:
    def say(text: str) -> None:
        if not args.json:
            print(text, file=sys.stderr, flush=True)

    kinds = _fault_kinds(args.store, args.faults)
    if isinstance(kinds, str):
        print(error_line("campusedge bench soak", kinds), file=sys.stderr)
        return 2

    rng = random.Random(args.seed)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="campusedge-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    broker = MosquittoProcess(data_dir=workdir / "broker", users={"soak": password})
    mqtt = MqttSettings(
        host=broker.host, port=broker.port, username="soak", password=SecretStr(password)
    )
    influx: InfluxProcess | None = None
    if args.store == "influx":
        binary = find_influxd()
        if binary is None:
            print(
                _("{prog}: --store influx needs influxd (Debian package 'influxdb')").format(
                    prog="campusedge bench soak"
                ),
                file=sys.stderr,
            )
            return 2
        influx = InfluxProcess(
            binary, workdir / "influxd", admin=(INFLUX_USER, secrets.token_urlsafe(12))
        )
    gateway = GatewayRunner(workdir, mqtt, influx)
    stop = threading.Event()
    faults: Counter[str] = Counter()
    fevers: set[str] = set()
    published = 0
    facts: dict[str, Any] = {}
    api_errors = Counter[str]()
    flood = Flood(mqtt, random.Random(args.seed + 7))
    edges: list[EdgeProcess] = []
    samples: list[tuple[float, float, int]] = []  # (minute, RSS MB, gateway restarts before)

    def _terminate(signum: int, frame: object) -> None:
        # The finally below ends everything this command started; exit 128 + the signal,
        # without a traceback.
        raise Shutdown(128 + signum)

    previous = {sig: signal.signal(sig, _terminate) for sig in (signal.SIGTERM, signal.SIGHUP)}

    def readers() -> None:
        with httpx.Client(timeout=5) as http:
            while not stop.wait(1.0):
                for path in ("/healthz", "/readyz", "/metrics"):
                    try:
                        http.get(gateway.url + path)
                    except httpx.HTTPError as exc:
                        api_errors[type(exc).__name__] += 1

    def flooder() -> None:
        while not stop.wait(rng.uniform(15, 30)):
            flood.burst(2000)

    def fault_maker() -> None:
        while not stop.wait(rng.uniform(0.5, 1.5) * args.fault_every):
            fault = rng.choice(kinds)
            faults[fault] += 1
            say(f"fault: {fault}")
            if fault == "broker_restart":
                broker.stop()
                stop.wait(rng.uniform(2, 10))
                broker.start()
            elif fault == "broker_kill":
                broker.kill()
                stop.wait(rng.uniform(1, 5))
                broker.start()
            elif fault == "influx_stop":
                assert influx is not None
                influx.stop()
                stop.wait(rng.uniform(*INFLUX_OUTAGE_S))
                influx.start()
            else:
                gateway.kill()
                gateway.restarts += 1
                stop.wait(rng.uniform(1, 5))
                gateway.start()

    def sampler() -> None:
        started = time.monotonic()
        while not stop.wait(SAMPLE_EVERY_S):
            # The restarts before and after: a gateway killed meanwhile is not sampled.
            restarts, proc = gateway.restarts, gateway.proc
            if proc is None or proc.poll() is not None:
                continue
            with contextlib.suppress(OSError):
                rss, _fds, _threads = _proc_facts(proc.pid)
                if gateway.restarts == restarts and proc.poll() is None:
                    minute = round((time.monotonic() - started) / 60, 1)
                    samples.append((minute, rss, restarts))

    threads = [
        threading.Thread(target=f, daemon=True) for f in (readers, flooder, fault_maker, sampler)
    ]
    deadline = time.monotonic() + args.minutes * 60
    try:
        if influx is not None:
            _start_influx(influx)
        broker.start()
        gateway.start()
        # A fixed 3 s once was too short on a busy machine: the first readings were lost.
        gateway.wait_ready()
        for t in threads:
            t.start()
        round_no = 0
        while time.monotonic() < deadline:
            for box_id, scenario in _scenarios(round_no, args):
                if round_no and time.monotonic() >= deadline:
                    break  # the first round always runs whole: "start" is measured after it
                box = workdir / f"{box_id}.yaml"
                scenario.write_box(box, SCHOOL, box_id, workdir / f"{box_id}-buffer.db")
                edge = EdgeProcess(box, mqtt, workdir / f"{box_id}-{round_no}-stats.json")
                edges.append(edge)
                edge.start()
                assert edge.proc is not None
                scenario.wait_connected(30, edge.proc.pid)
                scenario.play(args.speed, stop=stop)
                scenario.close()
                stats = edge.stop(timeout_s=300, drain_s=240)
                published += int(stats["messages"])
                if isinstance(scenario, MorningGate):
                    fevers |= {scenario.subjects[s - 1] for _, s, f, _ in scenario.arrivals if f}
                say(f"round {round_no} {box_id}: {stats['messages']} published")
            if round_no == 0 and gateway.proc is not None:
                facts["start"] = _proc_facts(gateway.proc.pid)
                facts["restarts_at_start"] = gateway.restarts
            round_no += 1
        stop.set()
        for t in threads:
            t.join(60)
        if not broker.running():
            broker.start()
        if influx is not None and not influx.running():
            influx.start()
        if gateway.proc is None or gateway.proc.poll() is not None:
            gateway.start()
        settle = time.monotonic() + 300
        while time.monotonic() < settle:
            if _stored(gateway)[1] >= published:
                break
            time.sleep(1)
        time.sleep(3)  # the alert engine follows the commits
        assert gateway.proc is not None
        facts["end"] = _proc_facts(gateway.proc.pid)
        stored, distinct = _stored(gateway)
    finally:
        stop.set()
        # A fault under way finishes first: one that restarts the broker or InfluxDB after
        # the stops below would leave it running (seen when a soak was stopped by SIGTERM).
        for t in threads:
            if t.is_alive():
                t.join(90)
        for edge in edges:
            if edge.running() and edge.proc is not None:
                edge.proc.kill()
                edge.proc.wait()
        gateway.stop()
        broker.stop()
        if influx is not None:
            influx.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    keys = [f"fever:{SCHOOL}:subject:{s}" for s in fevers]
    delivered = 0
    if keys:
        with sqlite3.connect(f"file:{gateway.state}?mode=ro", uri=True) as conn:
            delivered = sum(
                int(
                    conn.execute("SELECT COUNT(*) FROM alerts WHERE key = ?", (k,)).fetchone()[0]
                    > 0
                )
                for k in keys
            )
    start = facts.get("start", (0.0, 0, 0))
    end = facts.get("end", (0.0, 0, 0))
    result = {
        "published": published,
        "stored": distinct,
        "lost": published - distinct,
        "duplicates_stored": stored - distinct,
        "rss_mb_start": start[0],
        "rss_mb_end": end[0],
        "open_fds_start": start[1],
        "open_fds_end": end[1],
        "threads_start": start[2],
        "threads_end": end[2],
        "alerts_expected": len(keys),
        "alerts_delivered": delivered,
        "faults": dict(faults),
        "rss_mb_samples": [list(sample) for sample in samples],
        "rss_mb_per_hour_late": _late_trend(samples),
        "gateway_restarts": gateway.restarts - facts.get("restarts_at_start", 0),
        "bad_messages_sent": flood.sent,
        "api_errors": dict(api_errors),
        "minutes": args.minutes,
        "store": args.store,
    }
    print(json.dumps(result))
    ok = result["lost"] == 0 and result["duplicates_stored"] == 0
    return 0 if ok else 1
