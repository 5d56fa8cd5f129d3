"""kill -9 the gateway mid-stream, restart it: every published message is stored exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from campusedge.settings import MqttSettings
from tests.gateway.mqtt_helpers import client, reading, wait_until

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


def start_gateway(db: Path, settings: MqttSettings, school: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CAMPUSEDGE_MQTT_PASSWORD": settings.password.get_secret_value()
        if settings.password
        else "",
        "CAMPUSEDGE_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "campusedge.cli",
            "gateway",
            "run",
            "--db",
            str(db),
            "--school",
            school,
            "--client-id",
            f"crash-{school}",
            "--api-port",
            "0",
            "--mqtt-host",
            settings.host,
            "--mqtt-port",
            str(settings.port),
            "--mqtt-username",
            settings.username or "",
        ],
        env=env,
    )


def stored(db: Path) -> list[tuple[str, int]]:
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=10) as conn:
        try:
            return conn.execute("SELECT device_id, seq FROM messages").fetchall()
        except sqlite3.OperationalError:  # the schema is not there yet
            return []


def test_kill_9_mid_stream_loses_and_duplicates_nothing(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    school = "crash" + uuid.uuid4().hex[:6]
    db = tmp_path / "readings.db"
    gw = start_gateway(db, mqtt_settings, school)
    # The first run creates the persistent session; wait until it stores a probe message.
    pub = client(mqtt_settings)
    # Until it has subscribed, the probe is not delivered: resend it (same seq, so idempotent).
    deadline = time.monotonic() + 30
    while not stored(db) and time.monotonic() < deadline:
        pub.publish(*reading(school, "probe", 0), qos=1).wait_for_publish(10)
        time.sleep(0.3)
    assert stored(db) == [("probe", 0)]

    total = 4000
    sent = threading.Event()

    def stream() -> None:
        for i in range(total):
            pub.publish(*reading(school, f"hr-{i % 20:02d}", 1 + i // 20), qos=1)
            if i % 100 == 0:
                time.sleep(0.02)
        sent.set()

    publisher = threading.Thread(target=stream)
    publisher.start()
    wait_until(lambda: len(stored(db)) > 500, 30, "some messages stored before the kill")
    os.kill(gw.pid, signal.SIGKILL)
    gw.wait()
    killed_at = len(stored(db))
    publisher.join()
    assert sent.wait(60)
    gw = start_gateway(db, mqtt_settings, school)
    try:
        wait_until(lambda: len(stored(db)) >= total + 1, 60, "every message stored")
        time.sleep(1.0)  # redeliveries of committed-but-unacknowledged messages land now
        keys = stored(db)
    finally:
        gw.terminate()
        gw.wait(30)
        pub.loop_stop()
        pub.disconnect()
    assert killed_at < total + 1, "the kill should land mid-stream"
    assert len(keys) == len(set(keys)) == total + 1
    expected = {(f"hr-{i % 20:02d}", 1 + i // 20) for i in range(total)} | {("probe", 0)}
    assert set(keys) == expected
