"""The edge box's MQTT link: failures logged once with the reason; a retained last will."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from campusedge.broker import MosquittoProcess, free_port
from campusedge.contract import Status
from campusedge.envelope import parse_message
from campusedge.settings import MqttSettings
from campusedge.topics import DeviceTopic
from edge.agent import EdgeAgent
from tests.conftest import mqtt_settings_for
from tests.edge.boxes import write_box
from tests.edge.collector import Collector


def _mqtt_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "edge.mqtt_link" and r.levelno >= logging.WARNING
    ]


def _run_offline(tmp: Path, mqtt: MqttSettings, seconds: float) -> EdgeAgent:
    # A gate on a serial port that is not there: the box runs, the device stays offline.
    box = write_box(
        tmp,
        [
            {
                "id": "gate-1",
                "model": "temp_gate_ce_tg100",
                "transport": {"type": "serial", "port": str(tmp / "no-tty")},
            }
        ],
    )
    agent = EdgeAgent(box, mqtt)
    agent.run(duration_s=seconds, drain_s=0)
    return agent


def test_nothing_listening_is_logged_once_with_the_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    port = free_port()
    # paho retries after 1 s and 2 s: three attempts, one warning.
    agent = _run_offline(tmp_path, MqttSettings(host="127.0.0.1", port=port), 3.5)
    warnings = _mqtt_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert f"127.0.0.1:{port}" in warnings[0] and "Connection refused" in warnings[0]
    assert agent.stats.connects == 0
    assert agent.stats.mqtt_error is not None and "Connection refused" in agent.stats.mqtt_error


@pytest.mark.mosquitto
def test_a_refused_login_is_logged_once_and_says_to_check_the_password(
    tmp_path: Path, mosquitto: MosquittoProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    wrong = mqtt_settings_for(mosquitto).model_copy(update={"password": SecretStr("wrong")})
    agent = _run_offline(tmp_path, wrong, 3.5)
    warnings = _mqtt_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert "Not authorized" in warnings[0] and "password" in warnings[0]
    assert agent.stats.connects == 0 and "Not authorized" in str(agent.stats.mqtt_error)


@pytest.mark.mosquitto
def test_a_good_connection_clears_the_error(
    tmp_path: Path, mosquitto: MosquittoProcess, caplog: pytest.LogCaptureFixture
) -> None:
    agent = _run_offline(tmp_path, mqtt_settings_for(mosquitto), 1.0)
    assert agent.stats.connects == 1 and agent.stats.mqtt_error is None
    assert _mqtt_warnings(caplog) == []


@pytest.mark.mosquitto
def test_a_killed_box_leaves_its_last_will_retained(
    tmp_path: Path, mosquitto: MosquittoProcess
) -> None:
    # The birth (online) and the last will (offline, not stopped) are both retained, so a
    # gateway that subscribes later still learns that the box died.
    mqtt = mqtt_settings_for(mosquitto)
    school = "will-" + uuid.uuid4().hex[:6]
    write_box(
        tmp_path,
        [
            {
                "id": "gate-1",
                "model": "temp_gate_ce_tg100",
                "transport": {"type": "serial", "port": str(tmp_path / "no-tty")},
            }
        ],
        school=school,
    )
    topic = f"campus/{school}/edge/test-box/status"
    password = mqtt.password.get_secret_value() if mqtt.password else ""
    box = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "campusedge.cli",
            "edge",
            "run",
            "--config",
            str(tmp_path / "box.yaml"),
            "--mqtt-host",
            mqtt.host,
            "--mqtt-port",
            str(mqtt.port),
            "--mqtt-username",
            mqtt.username or "",
        ],
        env={**os.environ, "CAMPUSEDGE_MQTT_PASSWORD": password},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        births = Collector(mqtt, [topic], client_id=f"birth-{school}").start()
        assert births.wait_for(lambda ms: any(b'"online"' in p for _, p, _ in ms), 30)
        births.stop()
    finally:
        box.kill()  # SIGKILL: no clean DISCONNECT, so the broker sends the will
        box.wait(10)
    late = Collector(mqtt, [topic], client_id=f"late-{school}").start()
    try:
        assert late.wait_for(lambda ms: any(b'"offline"' in p for _, p, _ in ms), 15)
        [(_, payload, retained)] = late.snapshot()[-1:]
    finally:
        late.stop()
    status = parse_message(DeviceTopic.parse(topic), payload, now=datetime.now(UTC))
    assert retained and isinstance(status, Status)
    assert status.device_id == "test-box" and status.state == "offline"
    assert status.stopped is False
