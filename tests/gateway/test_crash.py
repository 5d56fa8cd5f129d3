"""kill -9 the gateway mid-stream, restart it: messages stored once, fevers alerted once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from campusedge.settings import MqttSettings
from gateway.roster import LessonKind, Roster
from gateway.state import StateDB
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


def gate_pass(school: str, seq: int, subject: str, body_c: float) -> tuple[str, bytes]:
    body = {
        "v": 1,
        "device_id": "gate-1",
        "kind": "temp_gate",
        "seq": seq,
        "ts": datetime.now(UTC).isoformat(),
        "time_quality": "synced",
        "event": {
            "type": "gate_pass",
            "readings": [
                {"metric": "body_temperature", "value": body_c, "unit": "degC"},
                {"metric": "ambient_temperature", "value": 24.0, "unit": "degC"},
            ],
            "attributes": {
                "subject_id": subject,
                "id_type": "card",
                "site": "forehead",
                "decision": "pass",
            },
        },
    }
    return f"campus/{school}/temp_gate/gate-1/event", json.dumps(body).encode()


def has(db: Path, device_id: str, seq: int) -> bool:
    """Whether the readings store holds (device_id, seq), asked as often as a test can."""
    if not db.exists():
        return False
    with sqlite3.connect(db, timeout=10) as conn:
        try:
            row = conn.execute(
                "SELECT 1 FROM messages WHERE device_id=? AND seq=?", (device_id, seq)
            ).fetchone()
        except sqlite3.OperationalError:
            return False
    return row is not None


def fever_alerts(state: Path) -> dict[str, int]:
    """student id -> fever alerts raised for them, as the state database holds them."""
    if not state.exists():
        return {}
    with sqlite3.connect(state, timeout=10) as conn:
        try:
            rows = conn.execute(
                "SELECT student_id, count(*) FROM alerts WHERE rule='fever' GROUP BY student_id"
            ).fetchall()
        except sqlite3.OperationalError:
            return {}
    return {str(s): int(n) for s, n in rows}


def alerts_caught_up(state: Path, commits: Path) -> bool:
    with sqlite3.connect(commits, timeout=10) as log, sqlite3.connect(state, timeout=10) as db:
        head = log.execute("SELECT coalesce(max(position), 0) FROM commits").fetchone()[0]
        row = db.execute("SELECT position FROM consumer_cursors WHERE consumer='alerts'").fetchone()
    return row is not None and row[0] >= head


def test_kill_9_right_after_a_fever_is_stored_alerts_exactly_once(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    school = "fever" + uuid.uuid4().hex[:6]
    db = tmp_path / "readings.db"
    state = tmp_path / "readings-state.db"  # where `gateway run --db` keeps its state
    commits = tmp_path / "readings-state.commits.db"  # named after the state database
    students = [f"s{i}" for i in range(6)]
    cards = {s: f"C-{i + 1:08X}" for i, s in enumerate(students)}
    state_db = StateDB(state)
    roster = Roster(state_db)
    roster.add_class("c1", school, "Class 1", "5")
    for s in students:
        roster.add_student(s, f"Student {s}", "F", date(2015, 1, 1), "c1", card_id=cards[s])
    # The bands are worn in a running lesson: the alert consumer judges every heart rate, so a
    # backlog of them keeps it busy while the fever behind them is already stored.
    bands = {f"hr-{i:02d}": students[i % len(students)] for i in range(30)}
    roster.start_lesson(
        "c1", "t1", LessonKind.LESSON, bands, at=datetime.now(UTC) - timedelta(minutes=1)
    )
    state_db.close()

    gw = start_gateway(db, mqtt_settings, school)
    pub = client(mqtt_settings)
    deadline = time.monotonic() + 30
    while not stored(db) and time.monotonic() < deadline:
        pub.publish(*reading(school, "probe", 0), qos=1).wait_for_publish(10)
        time.sleep(0.3)
    alerted_before_kill: list[int] = []
    try:
        for round_, student in enumerate(students):
            if round_ >= 3 and 0 in alerted_before_kill:
                break  # three rounds, and at least one kill between a commit and its alert
            # A backlog of heart rates ahead of the fever keeps the consumers busy, so that
            # the kill tends to land after the fever's commit and before its alert.
            for i in range(1500):
                band = f"hr-{i % 30:02d}"
                pub.publish(*reading(school, band, 1 + round_ * 100 + i // 30), qos=1)
            pub.publish(*gate_pass(school, round_ + 1, cards[student], 38.6), qos=1)
            wait_until(lambda r=round_: has(db, "gate-1", r + 1), 30, "the fever reading stored")
            os.kill(gw.pid, signal.SIGKILL)
            gw.wait()
            alerted_before_kill.append(fever_alerts(state).get(student, 0))
            gw = start_gateway(db, mqtt_settings, school)
        fevers = students[: len(alerted_before_kill)]
        wait_until(lambda: len(fever_alerts(state)) == len(fevers), 60, "every fever alerted")
        wait_until(lambda: alerts_caught_up(state, commits), 60, "the alert consumer caught up")
        time.sleep(1.0)  # redeliveries of what was committed but not acknowledged land now
        alerts = fever_alerts(state)
    finally:
        gw.terminate()
        try:
            gw.wait(30)
        except subprocess.TimeoutExpired:
            gw.kill()  # never left running, even when it fails to stop
            gw.wait(10)
            raise
        finally:
            pub.loop_stop()
            pub.disconnect()
    # Exactly one alert for each fever, whichever side of the alert the kill landed on.
    assert alerts == dict.fromkeys(fevers, 1), alerted_before_kill
    # And the kill did land between a fever's commit and its alert at least once.
    assert 0 in alerted_before_kill, alerted_before_kill
