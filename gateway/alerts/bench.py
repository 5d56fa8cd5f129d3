"""`campusedge bench alerts`: fever readings → alert delivery latency, under background load.

A real Mosquitto, the gateway as a subprocess (ingest, SQLite store, alert engine, API), a
local webhook receiver and an SSE client. Background load: hr_band readings at --rate per
second. Fever gate events are published at a steady pace and timed from publish to arrival on
the SSE stream and at the webhook receiver. Baseline, measured in the same run: publish to
arrival of the same gate events at a bare MQTT subscriber (the broker's own latency).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import insert

from campusedge.broker import MosquittoProcess, find_mosquitto, free_port
from campusedge.processes import child_options, stop_group
from campusedge.settings import MqttSettings
from gateway.alerts.delivery.receiver import WebhookReceiver
from gateway.auth import Role, Users
from gateway.bench.load import LoadSpec, run_publishers
from gateway.cli.language import gettext as _
from gateway.roster import Roster
from gateway.state import StateDB
from gateway.tables.roster import cards
from gateway.tables.roster import students as students_table

USER, PASSWORD = "bench", "bench-password"
SCHOOL = "benchalerts"
GATE = "bench-gate-1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=20.0, help="background load time")
    parser.add_argument(
        "--rate",
        type=float,
        default=1000.0,
        help="background readings per second (all publishers together)",
    )
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--fevers", type=int, default=150, help="fever gate events to publish")
    parser.add_argument(
        "--no-nice-load",
        dest="nice_load",
        action="store_false",
        help="run the load publishers at normal priority (default: nice 10, "
        "since real devices do not share the gateway's CPU)",
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON result")


def gate_pass_payload(
    subject_id: str, seq: int, temperature: float, device_id: str = GATE, site: str = "forehead"
) -> bytes:
    """A temp_gate `gate_pass` event as the edge agent publishes what drivers.temp_gate decodes."""
    return json.dumps(
        {
            "v": 1,
            "device_id": device_id,
            "kind": "temp_gate",
            "seq": seq,
            "ts": datetime.now(UTC).isoformat(),
            "time_quality": "synced",
            "event": {
                "type": "gate_pass",
                "readings": [
                    {"metric": "body_temperature", "value": temperature, "unit": "degC"},
                    {"metric": "ambient_temperature", "value": 22.0, "unit": "degC"},
                ],
                "attributes": {
                    "subject_id": subject_id,
                    "id_type": "card",
                    "site": site,
                    "decision": "deny",
                    "gate_seq": seq,
                },
            },
        },
        separators=(",", ":"),
    ).encode()


def bench_card(i: int) -> str:
    """A card id in the gate's format (`C-` and hex digits)."""
    return f"C-{0xBE000000 + i:08X}"


def prepare_state(state_db: Path, students: int) -> str:
    """Roster with one card per fever to come, and a health-staff user; returns its token."""
    db = StateDB(state_db)
    roster = Roster(db)
    classes = max(1, students // 40)
    for c in range(classes):
        roster.add_class(f"bc{c:02d}", SCHOOL, f"Bench class {c}", "7")
    with db.transaction() as conn:
        conn.execute(
            insert(students_table),
            [
                {
                    "id": f"bs{i:04d}",
                    "name": f"Bench {i}",
                    "sex": "MF"[i % 2],
                    "birth_date": date(2013, 5, 1).isoformat(),
                    "class_id": f"bc{i % classes:02d}",
                }
                for i in range(students)
            ],
        )
        conn.execute(
            insert(cards),
            [{"card_id": bench_card(i), "student_id": f"bs{i:04d}"} for i in range(students)],
        )
    token = Users(db).create("bench-nurse", "Bench nurse", Role.HEALTH_STAFF, schools=[SCHOOL])
    db.close()
    return token


def write_alert_config(directory: Path, webhook_url: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    # Grouping off: with it on, fevers arriving within a minute are held and sent together,
    # which is what a school wants but not a latency measurement.
    (directory / f"{SCHOOL}.yaml").write_text(
        "lifecycle:\n  group_interval_s: 0\n"
        "delivery:\n  mqtt: true\n  webhooks:\n"
        f"    - {{name: bench, url: '{webhook_url}', format: generic}}\n"
    )


@dataclass
class Arrivals:
    """Arrival times per (channel, card id) and how often each arrived."""

    times: dict[tuple[str, str], float] = field(default_factory=dict)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    # When the gateway emitted the notification (its wall clock, same machine).
    emitted: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, channel: str, card: str, at: float, emitted: str | None = None) -> None:
        with self.lock:
            key = (channel, card)
            self.counts[key] = self.counts.get(key, 0) + 1
            self.times.setdefault(key, at)
            if emitted is not None:
                self.emitted.setdefault(card, datetime.fromisoformat(emitted).timestamp())

    def seen(self, channel: str) -> int:
        with self.lock:
            return sum(1 for c, _ in self.times if c == channel)


def _fever_cards(body: dict[str, Any]) -> list[str]:
    if body.get("rule") != "fever" or body.get("kind") != "opened":
        return []
    return [str(a["detail"]["subject_id"]) for a in body.get("alerts", [])]


def sse_client(
    url: str, token: str, arrivals: Arrivals, ready: threading.Event, stop: threading.Event
) -> None:
    try:
        _read_sse(url, token, arrivals, ready, stop)
    except httpx.HTTPError:
        if not stop.is_set():
            raise
        # The gateway was stopped under an open stream: the end of the run, not an error.


def _read_sse(
    url: str, token: str, arrivals: Arrivals, ready: threading.Event, stop: threading.Event
) -> None:
    with (
        httpx.Client(timeout=httpx.Timeout(5, read=None)) as http,
        http.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        response.raise_for_status()
        for line in response.iter_lines():
            if stop.is_set():
                return
            if line.startswith(": subscribed"):
                ready.set()
            elif line.startswith("data: "):
                at = time.perf_counter()
                body = json.loads(line[6:])
                for card in _fever_cards(body):
                    arrivals.add("sse", card, at, body.get("at"))


def mqtt_listener(settings: MqttSettings, arrivals: Arrivals) -> mqtt.Client:
    """Baseline (the gate events themselves) and the alert topic, in one subscriber."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-alert-listener")
    client.username_pw_set(USER, PASSWORD)
    subscribed = threading.Event()

    def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        at = time.perf_counter()
        body = json.loads(msg.payload)
        if msg.topic.endswith("/event"):
            arrivals.add("baseline", str(body["event"]["attributes"]["subject_id"]), at)
        else:
            for card in _fever_cards(body):
                arrivals.add("mqtt", card, at)

    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    client.connect(settings.host, settings.port)
    client.subscribe([(f"campus/{SCHOOL}/temp_gate/+/event", 1), (f"campus/{SCHOOL}/alert/#", 1)])
    client.loop_start()
    subscribed.wait(5)
    return client


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway exited with {proc.returncode} before becoming healthy")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("gateway did not become healthy")


def measure(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    broker = MosquittoProcess(data_dir=work / "broker", users={USER: PASSWORD})
    broker.start()
    receiver = WebhookReceiver().start()
    arrivals = Arrivals()
    stop = threading.Event()
    proc: subprocess.Popen[bytes] | None = None
    listener: mqtt.Client | None = None
    try:
        settings = MqttSettings(
            host=broker.host, port=broker.port, username=USER, password=PASSWORD
        )
        state_db = work / "state.db"
        token = prepare_state(state_db, args.fevers)
        write_alert_config(work / "alerts", receiver.url)
        api_port = free_port()
        env = {
            **os.environ,
            "CAMPUSEDGE_MQTT_PASSWORD": PASSWORD,
            "CAMPUSEDGE_LOG_LEVEL": "WARNING",
        }
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "campusedge.cli",
                "gateway",
                "run",
                "--db",
                str(work / "readings.db"),
                "--state-db",
                str(state_db),
                "--alerts-dir",
                str(work / "alerts"),
                "--school",
                SCHOOL,
                "--client-id",
                "bench-alerts-gw",
                # Its simulated devices are made up by the scenario: none is enrolled.
                "--no-strict-enrolment",
                "--api-port",
                str(api_port),
                "--mqtt-host",
                broker.host,
                "--mqtt-port",
                str(broker.port),
                "--mqtt-username",
                USER,
            ],
            env=env,
            **child_options(),
        )
        base = f"http://127.0.0.1:{api_port}"
        _wait_healthy(f"{base}/healthz", proc)
        ready = threading.Event()
        sse = threading.Thread(
            target=sse_client,
            daemon=True,
            args=(f"{base}/api/alerts/stream", token, arrivals, ready, stop),
        )
        sse.start()
        if not ready.wait(10):
            raise RuntimeError("the SSE stream did not open")
        listener = mqtt_listener(settings, arrivals)

        spec = LoadSpec(
            f"{SCHOOL}", devices=50, seconds=args.seconds, rate_per_s=args.rate / args.publishers
        )
        background: dict[str, int] = {}

        def load_devices() -> None:
            # The publishers stand in for devices, which in a school are separate hardware:
            # at nice 10 they do not take the CPU the gateway under test needs. Linux applies
            # nice to this thread, and the publisher processes it spawns inherit it.
            if args.nice_load:
                os.nice(10)
            background["published"] = run_publishers(settings, spec, args.publishers)

        load = threading.Thread(target=load_devices, daemon=True)
        load_started = time.monotonic()
        load.start()
        # Each publisher runs for --seconds after it connected: the achieved rate is its
        # acknowledged count over that time.
        time.sleep(min(3.0, args.seconds / 5))  # let the load reach its pace

        publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-gate")
        publisher.username_pw_set(USER, PASSWORD)
        publisher.connect(broker.host, broker.port)
        publisher.loop_start()
        window = max(1.0, args.seconds - (time.monotonic() - load_started) - 2.0)
        gap = window / args.fevers
        sent: dict[str, float] = {}
        sent_wall: dict[str, float] = {}
        for i in range(args.fevers):
            card = bench_card(i)
            payload = gate_pass_payload(card, i, 38.0 + (i % 10) / 10)
            sent[card] = time.perf_counter()
            sent_wall[card] = time.time()
            publisher.publish(f"campus/{SCHOOL}/temp_gate/{GATE}/event", payload, qos=1)
            time.sleep(gap)
        load.join()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (
            arrivals.seen("sse") < args.fevers
            or sum(len(_fever_cards(r.body)) for r in list(receiver.received)) < args.fevers
        ):
            time.sleep(0.1)
        time.sleep(1.0)  # a late duplicate would show up now
        for r in receiver.received:
            for card in _fever_cards(r.body):
                arrivals.add("webhook", card, r.at)
        publisher.loop_stop()
        publisher.disconnect()
    finally:
        stop.set()
        if listener is not None:
            listener.loop_stop()
            listener.disconnect()
        if proc is not None:
            stop_group(proc)  # the gateway and its MQTT process
        receiver.stop()
        broker.stop()

    def latencies(channel: str) -> list[float]:
        return [
            (arrivals.times[(channel, card)] - t0) * 1000
            for card, t0 in sent.items()
            if (channel, card) in arrivals.times
        ]

    delivered_lat = latencies("sse") + latencies("webhook")
    duplicates = sum(
        n - 1 for (ch, _), n in arrivals.counts.items() if ch in ("sse", "webhook") and n > 1
    )
    base_lat = latencies("baseline")
    # Publish → the gateway emitting the notification: broker, ingest (batch window, store
    # commit) and the engine. The rest of each latency is delivery.
    to_engine = [
        (arrivals.emitted[card] - t0) * 1000
        for card, t0 in sent_wall.items()
        if card in arrivals.emitted
    ]
    return {
        "p50_ms": round(_pct(delivered_lat, 0.50), 1),
        "p99_ms": round(_pct(delivered_lat, 0.99), 1),
        "delivered": len(delivered_lat),
        "expected": 2 * len(sent),
        "duplicates": duplicates,
        "sse_p99_ms": round(_pct(latencies("sse"), 0.99), 1),
        "webhook_p99_ms": round(_pct(latencies("webhook"), 0.99), 1),
        "mqtt_alert_p99_ms": round(_pct(latencies("mqtt"), 0.99), 1),
        "mqtt_alert_delivered": len(latencies("mqtt")),
        "to_engine_p50_ms": round(_pct(to_engine, 0.50), 1),
        "to_engine_p99_ms": round(_pct(to_engine, 0.99), 1),
        "baseline_p50_ms": round(_pct(base_lat, 0.50), 1),
        "baseline_p99_ms": round(_pct(base_lat, 0.99), 1),
        "background_rate_per_s": round(background.get("published", 0) / args.seconds, 1),
        "mean_ms": round(statistics.fmean(delivered_lat), 1) if delivered_lat else 0.0,
    }


def run(args: argparse.Namespace) -> int:
    if find_mosquitto() is None:
        print(
            _("{prog} needs Mosquitto (Debian package 'mosquitto')").format(
                prog="campusedge bench alerts"
            ),
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="campusedge-bench-alerts-") as tmp:
        result = measure(Path(tmp), args)
    if not args.json:
        ok = (
            result["p99_ms"] <= 250
            and result["delivered"] == result["expected"]
            and result["duplicates"] == 0
        )
        print(
            f"alerts: {result['delivered']}/{result['expected']} delivered, p99 "
            f"{result['p99_ms']} ms (baseline MQTT p99 {result['baseline_p99_ms']} ms) under "
            f"{result['background_rate_per_s']} readings/s: {'PASS' if ok else 'FAIL'}"
        )
    print(json.dumps(result))
    return 0
