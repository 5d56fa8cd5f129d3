"""A retained status the broker sends again on every reconnection is not news to the alerts."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from campusedge.broker import MosquittoProcess
from gateway.alerts.model import AlertState, Rule
from gateway.ingest import IngestSettings
from gateway.service import Gateway, GatewaySettings
from tests.conftest import mqtt_settings_for
from tests.gateway.alerts.test_delivery import wait_until
from tests.services import MQTT_PASSWORD, MQTT_USER

pytestmark = pytest.mark.mosquitto


def test_a_resolved_offline_alert_stays_resolved_across_reconnections(
    tmp_path: Path, mosquitto: MosquittoProcess
) -> None:
    school = "sch-" + uuid.uuid4().hex[:6]
    mqtt_settings = mqtt_settings_for(mosquitto)
    settings = GatewaySettings(
        store_url=f"sqlite:///{tmp_path / 'readings.db'}",
        state_db=tmp_path / "state.db",
        api_port=0,
        ingest=IngestSettings(school=school, client_id=f"gw-{school}"),
    )
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{school}")
    publisher.username_pw_set(MQTT_USER, MQTT_PASSWORD)
    publisher.connect(mosquitto.host, mosquitto.port)
    publisher.loop_start()
    status = json.dumps(
        {
            "v": 1,
            "device_id": "gate-7",
            "kind": "temp_gate",
            "state": "offline",
            "ts": datetime.now(UTC).isoformat(),
            "detail": "serial port /dev/ttyUSB0 gone",
        }
    )
    publisher.publish(
        f"campus/{school}/temp_gate/gate-7/status", status, qos=1, retain=True
    ).wait_for_publish(5)

    gateway = Gateway(settings, mqtt_settings)
    gateway.start()
    try:
        assert gateway.alerts is not None
        lifecycle = gateway.alerts.engine.lifecycle
        assert wait_until(lambda: bool(lifecycle.find(rule=Rule.DEVICE_OFFLINE)))
        [alert] = lifecycle.find(rule=Rule.DEVICE_OFFLINE)
        assert alert.summary == "temp_gate gate-7 went offline: serial port /dev/ttyUSB0 gone"
        gateway.alerts.engine.resolve(alert.id, "it.chen", "replaced the cable")
    finally:
        gateway.stop()

    # Two restarts: each time the broker hands the gateway the same retained status.
    for _ in range(2):
        gateway = Gateway(settings, mqtt_settings)
        gateway.start()
        try:
            assert gateway.ingest.connected.wait(15)
            assert wait_until(lambda g=gateway: g.ingest.stats["stale_statuses"] >= 1)
            assert gateway.alerts is not None
            [again] = gateway.alerts.engine.lifecycle.find(rule=Rule.DEVICE_OFFLINE)
            assert again.id == alert.id and again.state is AlertState.RESOLVED
            assert again.count == 1
        finally:
            gateway.stop()
    # A new status from the device (a later time) is news again.
    publisher.publish(
        f"campus/{school}/temp_gate/gate-7/status",
        json.dumps({**json.loads(status), "ts": datetime.now(UTC).isoformat()}),
        qos=1,
        retain=True,
    ).wait_for_publish(5)
    gateway = Gateway(settings, mqtt_settings)
    gateway.start()
    try:
        assert gateway.alerts is not None
        lifecycle = gateway.alerts.engine.lifecycle
        assert wait_until(lambda: len(lifecycle.find(rule=Rule.DEVICE_OFFLINE)) == 2)
    finally:
        gateway.stop()
        publisher.publish(f"campus/{school}/temp_gate/gate-7/status", b"", retain=True)
        publisher.loop_stop()
        publisher.disconnect()
