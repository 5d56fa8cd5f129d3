"""The alert publisher while its broker is away: one clear warning an outage, not paho's
garbled error (`Socket: None). Last known…`) at every reconnection attempt."""

from __future__ import annotations

import logging
import time

import pytest

from campusedge.broker import MosquittoProcess
from gateway.alerts.config import AlertConfigs
from gateway.alerts.delivery.mqtt import MqttAlertPublisher
from tests.conftest import mqtt_settings_for
from tests.gateway.alerts.test_delivery import wait_until

pytestmark = pytest.mark.mosquitto

LOGGER = "gateway.alerts.delivery.mqtt"


def _said(caplog: pytest.LogCaptureFixture, text: str, level: int | None = None) -> int:
    return sum(
        1
        for r in caplog.records
        if r.name == LOGGER and text in r.getMessage() and (level is None or r.levelno == level)
    )


def test_a_broker_outage_is_said_once_and_its_end_too(
    own_mosquitto: MosquittoProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    publisher = MqttAlertPublisher(mqtt_settings_for(own_mosquitto), AlertConfigs())
    publisher.start()
    try:
        assert wait_until(lambda: publisher._client.is_connected())
        for outage in (1, 2):
            before = _said(caplog, "not connected")
            own_mosquitto.stop()
            # paho retries after 1 s, then 2 s, 4 s: wait until it failed at least twice.
            assert wait_until(lambda b=before: _said(caplog, "not connected") >= b + 2, 15)
            assert _said(caplog, "not connected to the MQTT broker", logging.WARNING) == outage
            own_mosquitto.start()
            assert wait_until(lambda: publisher._client.is_connected(), 40)
            assert _said(caplog, "connected to the MQTT broker again") == outage
        time.sleep(0.2)
    finally:
        publisher.close()
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert not [m for m in messages if "None)" in m or "Client is not connected" in m]
