"""The tests' own Mosquitto takes only logins: `allow_anonymous false` with a password file."""

from __future__ import annotations

import pytest

from campusedge.broker import MosquittoProcess
from tests.mqtt_login import login_answer
from tests.services import MQTT_PASSWORD, MQTT_USER

pytestmark = pytest.mark.mosquitto


def test_test_broker_refuses_anonymous_and_wrong_logins(mosquitto: MosquittoProcess) -> None:
    config = mosquitto.config_path.read_text().splitlines()
    assert "allow_anonymous false" in config
    assert login_answer(mosquitto.host, mosquitto.port) == "Not authorized"
    assert login_answer(mosquitto.host, mosquitto.port, MQTT_USER, "wrong") == "Not authorized"
    assert login_answer(mosquitto.host, mosquitto.port, MQTT_USER, MQTT_PASSWORD) == "Success"
