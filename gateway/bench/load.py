"""Load generation for benchmarks: QoS 1 publisher processes with a bounded inflight window."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.sharedctypes import Synchronized

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from campusedge.processes import die_with_parent
from campusedge.settings import MqttSettings


@dataclass(frozen=True)
class LoadSpec:
    school: str
    devices: int
    seconds: float
    rate_per_s: float | None = None  # None: as fast as the broker takes it
    window: int = 500  # unacknowledged publishes allowed per publisher
    first_seq: int = 0  # later rounds continue each device's sequence


def reading_payload(device_id: str, seq: int, hr: int) -> bytes:
    return json.dumps(
        {
            "v": 1,
            "device_id": device_id,
            "kind": "hr_band",
            "seq": seq,
            "ts": datetime.now(UTC).isoformat(),
            "time_quality": "synced",
            "readings": [
                {"metric": "heart_rate", "value": hr, "unit": "bpm"},
                {"metric": "rr_interval", "value": round(60000 / hr), "unit": "ms"},
            ],
        },
        separators=(",", ":"),
    ).encode()


def rss_mb(pid: int | None = None) -> float:
    """Resident set size of a process in MiB, from /proc."""
    with open(f"/proc/{pid or os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found")


def cpu_s(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def publisher_devices(index: int, devices: int) -> list[str]:
    """The device ids publisher *index* publishes for."""
    return [f"bench-{index:02d}-{d:04d}" for d in range(devices)]


def bench_devices(publishers: int, devices: int) -> list[str]:
    """Every device id of a bench run with *publishers* publishers of *devices* each."""
    return [d for i in range(publishers) for d in publisher_devices(i, devices)]


def publish_worker(
    index: int,
    mqtt_settings: MqttSettings,
    spec: LoadSpec,
    published: Synchronized[int],
    go: threading.Event | None = None,
) -> None:
    """Publish readings for `spec.devices` devices until `spec.seconds` have passed.

    Counts a message as published only once the broker has acknowledged it (PUBACK).
    """
    parent = mp.parent_process()
    if parent is not None and parent.pid is not None:
        # Gone with the bench, even one killed without the chance to stop its publishers.
        die_with_parent(signal.SIGKILL, parent.pid)
    window = threading.Semaphore(spec.window)
    acked = 0
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{os.getpid()}-{index}")
    if mqtt_settings.username:
        pw = mqtt_settings.password
        client.username_pw_set(mqtt_settings.username, pw.get_secret_value() if pw else None)
    if mqtt_settings.tls_ca:
        client.tls_set(ca_certs=mqtt_settings.tls_ca)
    client.max_inflight_messages_set(spec.window)
    client.max_queued_messages_set(0)

    def on_publish(*_: object) -> None:
        nonlocal acked
        acked += 1
        window.release()

    client.on_publish = on_publish
    client.connect(mqtt_settings.host, mqtt_settings.port, keepalive=60)
    client.loop_start()
    devices = publisher_devices(index, spec.devices)
    seqs = [spec.first_seq] * len(devices)
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < spec.seconds:
        d = n % len(devices)
        window.acquire()
        client.publish(
            f"campus/{spec.school}/hr_band/{devices[d]}/reading",
            reading_payload(devices[d], seqs[d], 90 + n % 90),
            qos=1,
        )
        seqs[d] += 1
        n += 1
        if spec.rate_per_s:
            lag = n / spec.rate_per_s - (time.monotonic() - start)
            if lag > 0:
                time.sleep(lag)
    deadline = time.monotonic() + 30
    while acked < n and time.monotonic() < deadline:
        time.sleep(0.01)
    client.loop_stop()
    client.disconnect()
    with published.get_lock():
        published.value += acked


def run_publishers(mqtt_settings: MqttSettings, spec: LoadSpec, processes: int) -> int:
    """Run publisher processes to the end and return how many messages the broker acked."""
    ctx = mp.get_context("spawn")
    published = ctx.Value("q", 0)
    # Daemons: a bench that stops early (a signal, an error) ends them rather than waiting.
    procs = [
        ctx.Process(target=publish_worker, args=(i, mqtt_settings, spec, published), daemon=True)
        for i in range(processes)
    ]
    try:
        for p in procs:
            p.start()
        for p in procs:
            p.join()
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()
    return int(published.value)
