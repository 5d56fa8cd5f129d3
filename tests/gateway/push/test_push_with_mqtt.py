"""Push and MQTT into one running gateway: one path, one dedup key, one dead-letter topic."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from campusedge.settings import MqttSettings
from campusedge.topics import dead_letter_topic
from gateway.api.app import create_app
from gateway.fleet.registry import FleetRegistry
from gateway.ingest import IngestSettings
from gateway.service import Gateway, GatewaySettings
from tests.gateway.mqtt_helpers import Collector, publish_all, reading, wait_until

pytestmark = pytest.mark.mosquitto

# A band hub that numbers its posts itself (as the band numbers what it publishes over MQTT).
NUMBERED = """
kind: hr_band
seq:
  pointer: /n
ts:
  pointer: /at
readings:
  - pointer: /bpm
    metric: heart_rate
    unit: bpm
"""


def test_posts_and_mqtt_messages_share_dedup_and_dead_letters(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    school = "s" + uuid.uuid4().hex[:8]
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (mappings / "numbered_band.yaml").write_text(NUMBERED)
    gateway = Gateway(
        GatewaySettings(
            store_url=f"sqlite:///{tmp_path / 'readings.db'}",
            state_db=str(tmp_path / "state.db"),
            api_port=0,
            ingest=IngestSettings(school=school, client_id=f"gw-{school}"),
            push_mappings_dir=mappings,
            # Strict: MQTT devices must be enrolled under a box; a push token is enrolment.
            strict_enrolment=True,
        ),
        mqtt_settings,
    )
    FleetRegistry(gateway.db).enrol_box(school, "box1", ["hr-1"])
    token = gateway.push_tokens.mint(school, "hr-1", "numbered_band")
    dead = Collector(mqtt_settings, dead_letter_topic(school))
    gateway.start()
    try:
        assert gateway.ingest.connected.wait(10)
        with TestClient(create_app(gateway)) as client:
            headers = {"Authorization": f"Bearer {token}"}

            def post_all() -> None:
                for seq in range(30, 90):
                    _, body = reading(school, "hr-1", seq, hr=100)
                    at = json.loads(body)["ts"]
                    sent = client.post(
                        f"/api/ingest/{school}/hr-1",
                        json={"n": seq, "at": at, "bpm": 100},
                        headers=headers,
                    )
                    assert sent.status_code == 200, sent.text

            # Seqs 0..59 over MQTT while 30..89 are posted: the writer's batches and the
            # posts commit in turn, and each key is stored once whichever came first.
            poster = threading.Thread(target=post_all)
            poster.start()
            publish_all(mqtt_settings, [reading(school, "hr-1", seq) for seq in range(60)])
            poster.join(30)
            wait_until(lambda: gateway.store.count_messages() >= 90, what="90 stored")
            wait_until(
                lambda: gateway.ingest.stats["stored"] + gateway.ingest.stats["duplicates"] == 120,
                what="every message committed",
            )
            rows = gateway.store.readings(device_id="hr-1", metric="heart_rate")
            assert sorted(r.seq for r in rows) == list(range(90))
            assert gateway.ingest.stats["duplicates"] == 30

            # A bad post: the same dead-letter notice an MQTT message gets.
            refused = client.post(f"/api/ingest/{school}/hr-1", content=b"{", headers=headers)
            assert refused.status_code == 400
            [(_, notice)] = dead.wait_for(1)
            assert b'"reason": "not_json"' in notice and b"/hr-1/" in notice
    finally:
        dead.close()
        gateway.stop()
