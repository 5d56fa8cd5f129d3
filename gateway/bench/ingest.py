"""`campusedge bench ingest`: the gateway's ingest rate against a bare counting subscriber."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from campusedge.broker import MosquittoProcess, find_mosquitto, free_port
from campusedge.settings import MqttSettings
from gateway.bench.load import LoadSpec, rss_mb, run_publishers

USER, PASSWORD = "bench", "bench-password"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=20.0, help="publishing time per phase")
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--devices", type=int, default=50, help="devices per publisher")
    parser.add_argument("--rate", type=float, default=None,
                        help="messages/s per publisher (default: as fast as acknowledged)")
    parser.add_argument("--json", action="store_true", help="print only the JSON result")


def _settings(broker: MosquittoProcess) -> MqttSettings:
    return MqttSettings(host=broker.host, port=broker.port, username=USER,
                        password=PASSWORD)


def baseline(broker: MosquittoProcess, spec: LoadSpec, publishers: int) -> dict[str, float]:
    """A paho subscriber that only counts (QoS 1, persistent session, automatic PUBACK)."""
    count = 0
    first = last = 0.0
    lock = threading.Lock()

    def on_message(*_: object) -> None:
        nonlocal count, first, last
        with lock:
            now = time.perf_counter()
            if count == 0:
                first = now
            count += 1
            last = now

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-baseline",
                         clean_session=False)
    client.username_pw_set(USER, PASSWORD)
    client.on_message = on_message
    client.connect(broker.host, broker.port)
    client.subscribe(f"campus/{spec.school}/+/+/reading", qos=1)
    client.loop_start()
    time.sleep(0.5)
    published = run_publishers(_settings(broker), spec, publishers)
    _wait_until(lambda: count, published)
    client.loop_stop()
    client.disconnect()
    return {"published": published, "received": count,
            "rate": count / (last - first) if last > first else 0.0}


def _wait_until(current: Any, target: int, stall_s: float = 15.0) -> None:
    seen, since = -1, time.monotonic()
    while True:
        value = current()
        if value >= target:
            return
        if value != seen:
            seen, since = value, time.monotonic()
        elif time.monotonic() - since > stall_s:
            return
        time.sleep(0.05)


def gateway_phase(broker: MosquittoProcess, spec: LoadSpec, publishers: int,
                  workdir: Path) -> dict[str, float]:
    """The whole gateway (a separate process) ingesting into SQLite."""
    db = workdir / "bench.db"
    api_port = free_port()
    env = {**os.environ, "CAMPUSEDGE_MQTT_PASSWORD": PASSWORD, "CAMPUSEDGE_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "campusedge.cli", "gateway", "run", "--db", str(db),
         "--school", spec.school, "--client-id", "bench-gateway", "--api-port", str(api_port),
         "--mqtt-host", broker.host, "--mqtt-port", str(broker.port), "--mqtt-username", USER],
        env=env)
    url = f"http://127.0.0.1:{api_port}/healthz"
    try:
        _wait_healthy(url, proc)
        rss_start = rss_mb(proc.pid)
        stored = 0
        first = last = 0.0
        done = threading.Event()

        def poll() -> None:
            nonlocal stored, first, last
            with httpx.Client(timeout=5) as http:
                while not done.is_set():
                    value = int(http.get(url).json()["stored"])
                    now = time.perf_counter()
                    if value and not first:
                        first = now
                    if value != stored:
                        last = now
                    stored = value
                    time.sleep(0.05)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        published = run_publishers(_settings(broker), spec, publishers)
        _wait_until(lambda: stored, published)
        done.set()
        poller.join()
        rss_end = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    with sqlite3.connect(db) as conn:
        in_db = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        dupes = conn.execute("SELECT COUNT(*) FROM (SELECT device_id, seq FROM messages "
                             "GROUP BY device_id, seq HAVING COUNT(*) > 1)").fetchone()[0]
    # The first poll that saw data marks the start; add one poll period so that a batch
    # committed just before it is not counted as instantaneous.
    return {"published": published, "stored": in_db, "duplicates": dupes,
            "rate": stored / (last - first + 0.05) if last > first else 0.0,
            "rss_start": rss_start, "rss_end": rss_end}


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


def run(args: argparse.Namespace) -> int:
    if find_mosquitto() is None:
        print("bench ingest needs Mosquitto (Debian package 'mosquitto')", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="campusedge-bench-") as tmp:
        work = Path(tmp)
        broker = MosquittoProcess(data_dir=work / "broker", users={USER: PASSWORD})
        broker.start()
        try:
            base = baseline(broker, LoadSpec("benchbase", args.devices, args.seconds, args.rate),
                            args.publishers)
            gw = gateway_phase(broker, LoadSpec("benchgw", args.devices, args.seconds,
                                                args.rate), args.publishers, work)
        finally:
            broker.stop()
    result = {
        "baseline_rate_per_s": round(base["rate"], 1),
        "rate_per_s": round(gw["rate"], 1),
        "ratio": round(gw["rate"] / base["rate"], 3) if base["rate"] else 0.0,
        "published": int(gw["published"]),
        "stored": int(gw["stored"]),
        "lost": int(max(0, gw["published"] - gw["stored"])),
        "duplicates_stored": int(gw["duplicates"]),
        "rss_mb_start": round(gw["rss_start"], 1),
        "rss_mb_end": round(gw["rss_end"], 1),
    }
    if not args.json:
        print(f"baseline: {base['received']:.0f} of {base['published']:.0f} received")
    print(json.dumps(result))
    return 0
