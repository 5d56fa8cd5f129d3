"""A bad retained message is dead-lettered once, not again on every restart or reconnection,
with an accurate reason; clearing it (an empty retained message) is no dead letter."""

from __future__ import annotations

import json
import os
import signal
import uuid
from pathlib import Path

import pytest

from campusedge.settings import MqttSettings
from tests.gateway.mqtt_helpers import Collector, publish_all, reading, wait_until
from tests.gateway.test_ingest import make_gateway

pytestmark = pytest.mark.mosquitto


def test_a_bad_retained_status_is_dead_lettered_once(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    school = "r" + uuid.uuid4().hex[:8]
    topic = f"campus/{school}/hr_band/hr-z/status"
    publish_all(mqtt_settings, [(topic, b'{"state": "maybe"}')], retain=True)
    dead = Collector(mqtt_settings, f"campus/{school}/deadletter")
    try:
        gateway = make_gateway(tmp_path, mqtt_settings, school)
        gateway.start()
        try:
            [(_, raw)] = dead.wait_for(1)
            letter = json.loads(raw)
            # No "v" at all: the schema says what is missing; no version was given to blame.
            assert letter["reason"] == "invalid" and "device_id" in letter["detail"]
            assert letter["topic"] == topic
        finally:
            gateway.stop()

        # A restart: the broker hands the same retained message over again.
        gateway = make_gateway(tmp_path, mqtt_settings, school)
        gateway.start()
        try:
            wait_until(
                lambda: gateway.ingest.stats["retained_dead_letter_repeats"] == 1,
                what="the retained message recognised after a restart",
            )
            # A reconnection of the running gateway (its MQTT process replaced) does the same.
            first = gateway.ingest.mqtt_pid
            assert first is not None
            os.kill(first, signal.SIGKILL)
            wait_until(
                lambda: gateway.ingest.stats["retained_dead_letter_repeats"] == 2,
                30,
                "the retained message recognised after a reconnection",
            )
            publish_all(mqtt_settings, [reading(school, "hr-ok", 1)])
            wait_until(lambda: gateway.ingest.stats["stored"] == 1, what="a reading after it")
            assert len(dead.messages) == 1
            assert len(gateway.store.dead_letters()) == 1
            assert gateway.metrics.dead_letters.labels(reason="invalid")._value.get() == 0

            # Another bad payload on that topic is news, retained or not.
            publish_all(mqtt_settings, [(topic, b'{"v": 1, "state": "perhaps"}')], retain=True)
            dead.wait_for(2)
            # Clearing the retained message, as docs/gateway.md tells an operator to.
            publish_all(mqtt_settings, [(topic, b"")], retain=True)
            wait_until(
                lambda: gateway.ingest.stats["retained_cleared"] == 1, what="the clearing seen"
            )
            publish_all(mqtt_settings, [reading(school, "hr-ok", 2)])
            wait_until(lambda: gateway.ingest.stats["stored"] == 2, what="a reading after it")
            assert len(dead.messages) == 2
            # An empty reading is no clearing (only a status is retained): a bad message.
            publish_all(mqtt_settings, [(f"campus/{school}/hr_band/hr-ok/reading", b"")])
            [*_, (_, raw)] = dead.wait_for(3)
            assert json.loads(raw)["reason"] == "not_json"
            assert gateway.ingest.stats["retained_cleared"] == 1
        finally:
            gateway.stop()
    finally:
        dead.close()
        publish_all(mqtt_settings, [(topic, b"")], retain=True)
