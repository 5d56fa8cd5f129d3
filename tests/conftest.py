"""Shared fixtures: real Mosquitto and InfluxDB servers, started per test session or test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from campusedge.broker import MosquittoProcess
from campusedge.settings import MqttSettings
from tests.services import MQTT_PASSWORD, MQTT_USER, InfluxProcess, start_influxd, start_mosquitto

# The machines are shared and noisy: a slow example is not a failure of the code under test.
settings.register_profile("campusedge", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("campusedge")


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoProcess]:
    """One broker for the session; tests keep apart by using their own school ids."""
    broker = start_mosquitto(tmp_path_factory.mktemp("mosquitto"))
    yield broker
    broker.stop()


@pytest.fixture
def own_mosquitto(tmp_path: Path) -> Iterator[MosquittoProcess]:
    """A broker of the test's own, for tests that stop and restart it."""
    broker = start_mosquitto(tmp_path / "mosquitto")
    yield broker
    broker.stop()


def mqtt_settings_for(broker: MosquittoProcess) -> MqttSettings:
    return MqttSettings(
        host=broker.host, port=broker.port, username=MQTT_USER, password=MQTT_PASSWORD
    )  # type: ignore[arg-type]


@pytest.fixture
def mqtt_settings(mosquitto: MosquittoProcess) -> MqttSettings:
    return mqtt_settings_for(mosquitto)


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxProcess]:
    server = start_influxd(tmp_path_factory.mktemp("influxd"))
    yield server
    server.stop()
