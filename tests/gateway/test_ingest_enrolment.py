"""Strict enrolment against a real Mosquitto: only devices the registry lists are admitted."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from campusedge.settings import MqttSettings
from gateway.api.app import create_app
from gateway.cli.run import add_arguments, settings_from_args
from gateway.fleet.registry import FleetRegistry
from gateway.ingest import IngestSettings
from gateway.service import Gateway, GatewaySettings
from tests.gateway.mqtt_helpers import Collector, publish_all, reading, wait_until

pytestmark = pytest.mark.mosquitto


@pytest.fixture
def school() -> str:
    return "s" + uuid.uuid4().hex[:8]


@pytest.fixture
def gateway(tmp_path: Path, mqtt_settings: MqttSettings, school: str) -> Iterator[Gateway]:
    settings = GatewaySettings(
        store_url=f"sqlite:///{tmp_path / 'readings.db'}",
        state_db=tmp_path / "state.db",
        api_port=0,
        strict_enrolment=True,
        ingest=IngestSettings(school=school, client_id=f"gw-{school}"),
    )
    gw = Gateway(settings, mqtt_settings)
    FleetRegistry(gw.db).enrol_box(school, "box-1", ["hr-1", "hr-2"])
    gw.start()
    assert gw.ingest.connected.wait(10)
    yield gw
    gw.stop()


def status(school: str, device: str, kind: str = "hr_band", **extra: object) -> tuple[str, bytes]:
    body = {"v": 1, "device_id": device, "kind": kind, "state": "online", **extra}
    return f"campus/{school}/{kind}/{device}/status", json.dumps(body).encode()


def dead_reasons(gateway: Gateway) -> list[tuple[str, str]]:
    return sorted((d.topic.split("/")[3], d.reason) for d in gateway.store.dead_letters())


def test_unenrolled_devices_are_dead_lettered_and_counted_without_a_device_label(
    gateway: Gateway, mqtt_settings: MqttSettings, school: str
) -> None:
    registry = FleetRegistry(gateway.db)
    registry.enrol_box("elsewhere", "box-9", ["hr-9"])  # enrolled, but in another school
    dead = Collector(mqtt_settings, f"campus/{school}/deadletter")
    try:
        publish_all(
            mqtt_settings,
            [
                reading(school, "hr-1", 1),
                reading(school, "hr-2", 1),
                reading(school, "hr-7", 1),  # enrolled nowhere
                reading(school, "hr-9", 1),  # enrolled under another school
                status(school, "hr-8"),
            ],
        )
        letters = [json.loads(raw) for _, raw in dead.wait_for(3)]
    finally:
        dead.close()
    assert {letter["reason"] for letter in letters} == {"unknown_device"}
    assert any("hr-7 is not enrolled in school" in letter["detail"] for letter in letters)
    wait_until(lambda: gateway.ingest.stats["stored"] == 2, what="the enrolled two stored")
    assert dead_reasons(gateway) == [
        ("hr-7", "unknown_device"),
        ("hr-8", "unknown_device"),
        ("hr-9", "unknown_device"),
    ]
    assert sorted(m.device_id for m in gateway.store.readings()) == ["hr-1", "hr-2"]
    assert gateway.devices.get("hr-8", school) is None  # a refused status records nothing
    text = TestClient(create_app(gateway)).get("/metrics").text
    assert 'campusedge_unknown_device_messages_total{channel="reading"} 2.0' in text
    assert 'campusedge_unknown_device_messages_total{channel="status"} 1.0' in text
    assert 'campusedge_dead_letters_total{reason="unknown_device"} 3.0' in text
    for device in ("hr-7", "hr-8", "hr-9"):
        assert f'"{device}"' not in text


def test_a_status_that_claims_another_box_is_refused(
    gateway: Gateway, mqtt_settings: MqttSettings, school: str
) -> None:
    FleetRegistry(gateway.db).enrol_box(school, "box-2", ["rope-1"])
    publish_all(
        mqtt_settings,
        [
            status(school, "hr-1", edge_id="box-2"),  # hr-1 is box-1's
            status(school, "rope-1", "jump_rope", edge_id="box-2"),
            status(school, "box-1", "edge"),
            status(school, "box-7", "edge"),  # no such box
        ],
    )
    wait_until(lambda: gateway.ingest.stats["statuses"] == 2, what="two statuses admitted")
    wait_until(lambda: gateway.ingest.stats["unknown_device"] == 2, what="two refused")
    # The device registry follows the commit log on its own thread: admitted is not yet read.
    wait_until(gateway.consumers.caught_up, what="the consumers caught up")
    assert dead_reasons(gateway) == [("box-7", "unknown_device"), ("hr-1", "unknown_device")]
    [claim] = [d for d in gateway.store.dead_letters() if "/hr-1/" in d.topic]
    assert "claims edge box box-2, but the registry lists it under box box-1" in claim.detail
    assert gateway.devices.get("hr-1", school) is None
    rope = gateway.devices.get("rope-1", school)
    assert rope is not None and rope.edge_id == "box-2"
    assert gateway.devices.get("box-1", school) is not None


def test_a_box_enrolled_while_running_is_admitted_at_once_and_revocation_follows(
    gateway: Gateway, mqtt_settings: MqttSettings, school: str
) -> None:
    registry = FleetRegistry(gateway.db)
    generation = gateway.ingest.enrolment.generation  # type: ignore[union-attr]
    registry.enrol_box(school, "box-3", ["gate-1"])
    # No waiting for a periodic refresh: the miss makes ingest look at the registry's counter.
    publish_all(mqtt_settings, [reading(school, "gate-1", 1)])
    wait_until(lambda: gateway.ingest.stats["stored"] == 1, what="the new device's reading")
    assert gateway.ingest.stats["unknown_device"] == 0
    assert gateway.ingest.enrolment.generation > generation  # type: ignore[union-attr]

    gateway.ingest.enrolment.refresh_s = 0.2  # type: ignore[union-attr]
    registry.revoke(f"box/{school}/box-3")
    time.sleep(0.5)  # the next batch looks at the registry again
    publish_all(mqtt_settings, [reading(school, "gate-1", 2)])
    wait_until(lambda: gateway.ingest.stats["unknown_device"] == 1, what="revoked refused")
    assert gateway.ingest.stats["stored"] == 1


def test_strict_enrolment_is_the_default_and_run_can_turn_it_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import argparse

    monkeypatch.delenv("CAMPUSEDGE_STRICT_ENROLMENT", raising=False)
    assert GatewaySettings().strict_enrolment is True
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert settings_from_args(parser.parse_args([])).strict_enrolment is True
    off = parser.parse_args(["--no-strict-enrolment"])
    assert settings_from_args(off).strict_enrolment is False
