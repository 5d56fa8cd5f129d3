"""A broker that cannot be reached, or refuses the login, is logged once with the reason."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from campusedge.broker import MosquittoProcess, free_port
from campusedge.settings import MqttSettings
from edge.agent import EdgeAgent
from tests.conftest import mqtt_settings_for
from tests.edge.boxes import write_box


def _mqtt_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "edge.mqtt_link" and r.levelno >= logging.WARNING]


def _run_offline(tmp: Path, mqtt: MqttSettings, seconds: float) -> EdgeAgent:
    # A gate on a serial port that is not there: the box runs, the device stays offline.
    box = write_box(tmp, [{"id": "gate-1", "model": "temp_gate_ce_tg100",
                           "transport": {"type": "serial", "port": str(tmp / "no-tty")}}])
    agent = EdgeAgent(box, mqtt)
    agent.run(duration_s=seconds, drain_s=0)
    return agent


def test_nothing_listening_is_logged_once_with_the_reason(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
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
        tmp_path: Path, mosquitto: MosquittoProcess, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    wrong = mqtt_settings_for(mosquitto).model_copy(update={"password": SecretStr("wrong")})
    agent = _run_offline(tmp_path, wrong, 3.5)
    warnings = _mqtt_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert "Not authorized" in warnings[0] and "password" in warnings[0]
    assert agent.stats.connects == 0 and "Not authorized" in str(agent.stats.mqtt_error)


@pytest.mark.mosquitto
def test_a_good_connection_clears_the_error(tmp_path: Path,
                                            mosquitto: MosquittoProcess,
                                            caplog: pytest.LogCaptureFixture) -> None:
    agent = _run_offline(tmp_path, mqtt_settings_for(mosquitto), 1.0)
    assert agent.stats.connects == 1 and agent.stats.mqtt_error is None
    assert _mqtt_warnings(caplog) == []
