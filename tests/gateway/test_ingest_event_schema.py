"""Over a real Mosquitto: an event carrying a name is dead-lettered, never stored."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from campusedge.settings import MqttSettings
from gateway.service import Gateway
from tests.gateway.mqtt_helpers import Collector, publish_all, wait_until
from tests.gateway.test_ingest import make_gateway

pytestmark = pytest.mark.mosquitto
SCHOOL = "s" + uuid.uuid4().hex[:8]


def rope_result(seq: int, **attributes: object) -> tuple[str, bytes]:
    body = {
        "v": 1,
        "device_id": "rope-1",
        "kind": "jump_rope",
        "seq": seq,
        "ts": datetime.now(UTC).isoformat(),
        "time_quality": "synced",
        "event": {
            "type": "rope_result",
            "readings": [{"metric": "rope_count", "value": 150, "unit": "count"}],
            "attributes": {"mode": "countdown_time", "set_value": 60, **attributes},
        },
    }
    return f"campus/{SCHOOL}/jump_rope/rope-1/event", json.dumps(body).encode()


@pytest.fixture
def gateway(tmp_path: Path, mqtt_settings: MqttSettings) -> Iterator[Gateway]:
    gw = make_gateway(tmp_path, mqtt_settings, SCHOOL)
    gw.start()
    assert gw.ingest.connected.wait(10)
    yield gw
    gw.stop()


def test_a_student_name_in_an_event_is_refused_and_the_rest_stored(
    gateway: Gateway, mqtt_settings: MqttSettings
) -> None:
    # First a clean one, so that the gateway's subscription is known to be in place (one
    # published before it is, is not for the gateway: send it again).
    deadline = time.monotonic() + 20
    while gateway.ingest.stats["stored"] == 0:
        assert time.monotonic() < deadline, "the gateway never stored the first event"
        publish_all(mqtt_settings, [rope_result(1)])
        time.sleep(0.5)
    dead = Collector(mqtt_settings, f"campus/{SCHOOL}/deadletter")
    try:
        publish_all(
            mqtt_settings,
            [rope_result(2, student_name="王小明"), rope_result(3), rope_result(4, note="x")],
        )
        letters = [json.loads(raw) for _, raw in dead.wait_for(2)]
    finally:
        dead.close()
    assert [letter["reason"] for letter in letters] == ["personal_name", "bad_attribute"]
    assert "names never travel on the wire" in letters[0]["detail"]
    wait_until(lambda: gateway.ingest.stats["stored"] == 2, what="the clean event stored")
    stored = gateway.store.events(device_id="rope-1")
    assert [e.seq for e in stored] == [1, 3]
    assert "王小明" not in json.dumps([e.attributes for e in stored], ensure_ascii=False)
