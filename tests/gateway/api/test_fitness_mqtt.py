"""End to end through a real Mosquitto: device results published by MQTT, scored, via the API."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from campusedge.settings import MqttSettings
from gateway.api.app import create_app
from gateway.ingest import IngestSettings
from gateway.service import Gateway, GatewaySettings
from tests.gateway.api.conftest import populate
from tests.gateway.mqtt_helpers import publish_all, wait_until

pytestmark = pytest.mark.mosquitto


def rope_event(school: str, device: str, seq: int, count: int) -> tuple[str, bytes]:
    body = {
        "v": 1,
        "device_id": device,
        "kind": "jump_rope",
        "seq": seq,
        "ts": datetime.now(UTC).isoformat(),
        "time_quality": "synced",
        "event": {
            "type": "rope_result",
            "readings": [
                {"metric": "rope_count", "value": count, "unit": "count"},
                {"metric": "rope_elapsed", "value": 60, "unit": "s"},
            ],
            "attributes": {"mode": "countdown_time", "set_value": 60},
        },
    }
    return f"campus/{school}/jump_rope/{device}/event", json.dumps(body).encode()


def run_time_event(
    school: str, device: str, seq: int, item: str, seconds: float
) -> tuple[str, bytes]:
    """A timing device (a station's start/finish gate) reporting one student's run."""
    body = {
        "v": 1,
        "device_id": device,
        "kind": "pe_station",
        "seq": seq,
        "ts": datetime.now(UTC).isoformat(),
        "time_quality": "synced",
        "event": {
            "type": "run_time",
            "readings": [{"metric": "run_time", "value": seconds, "unit": "s"}],
            "attributes": {"item": item},
        },
    }
    return f"campus/{school}/pe_station/{device}/event", json.dumps(body).encode()


def _gateway(tmp_path: Path, mqtt_settings: MqttSettings) -> tuple[Gateway, str]:
    school = "s" + uuid.uuid4().hex[:8]
    settings = GatewaySettings(
        store_url=f"sqlite:///{tmp_path / 'readings.db'}",
        state_db=tmp_path / "state.db",
        api_port=0,
        ingest=IngestSettings(school=school, client_id=f"gw-{school}"),
    )
    return Gateway(settings, mqtt_settings), school


def _open_session(client: TestClient, auth: dict[str, str], device: str) -> str:
    """A fitness test session of class 5a with *device* handed to student s1."""
    r = client.post(
        "/api/lessons",
        headers=auth,
        json={"class_id": "5a", "kind": "fitness_test", "assignments": {device: "s1"}},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _s1_item(
    client: TestClient, auth: dict[str, str], lesson_id: str, item: str
) -> dict[str, object] | None:
    """Student s1's current result for *item* in the session, None while there is none."""
    r = client.get(f"/api/fitness/sessions/{lesson_id}/results", headers=auth)
    s1 = next(s for s in r.json()["students"] if s["student_id"] == "s1")
    found: dict[str, object] | None = s1["items"].get(item)
    return found


def test_rope_result_over_mqtt_is_scored_and_served(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    gateway, school = _gateway(tmp_path, mqtt_settings)
    tokens = populate(gateway)
    # Devices are bound within their own school: class 5a is at the school this test publishes as.
    gateway.roster.update_class("5a", {"school": school})
    gateway.users.set_schools("t1", [school])  # and its teacher sees that school
    auth = {"Authorization": f"Bearer {tokens['t1']}"}
    gateway.start()
    try:
        assert gateway.ingest.connected.wait(10)
        with TestClient(create_app(gateway)) as client:
            lesson_id = _open_session(client, auth, "rope-1")
            event = rope_event(school, "rope-1", 7, 150)
            publish_all(mqtt_settings, [event, event])  # the rope resends: stored once
            wait_until(
                lambda: gateway.ingest.stats["stored"] + gateway.ingest.stats["duplicates"] == 2,
                what="both copies committed",
            )

            def rope() -> dict[str, object] | None:
                return _s1_item(client, auth, lesson_id, "rope_skip_1min")

            wait_until(lambda: rope() is not None, what="the scored rope result")
            shown = rope()
            assert shown is not None
            # grade 5 male: 148 skips = 100 points; 2 over = +1 bonus
            assert (shown["value"], shown["score"], shown["bonus"], shown["attempts"]) == (
                150,
                100,
                1,
                1,
            )
    finally:
        gateway.stop()


def test_timed_runs_over_mqtt_are_scored_and_kept_as_history(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    gateway, school = _gateway(tmp_path, mqtt_settings)
    tokens = populate(gateway)
    # Devices are bound within their own school: class 5a is at the school this test publishes as.
    gateway.roster.update_class("5a", {"school": school})
    gateway.users.set_schools("t1", [school])  # and its teacher sees that school
    auth = {"Authorization": f"Bearer {tokens['t1']}"}
    gateway.start()
    try:
        assert gateway.ingest.connected.wait(10)
        with TestClient(create_app(gateway)) as client:
            lesson_id = _open_session(client, auth, "gate-1")
            # Two attempts at the 50 m sprint, then a run the device could not place.
            publish_all(
                mqtt_settings,
                [
                    run_time_event(school, "gate-1", 1, "run_50m", 9.3),
                    run_time_event(school, "gate-1", 2, "run_50m", 8.9),
                    run_time_event(school, "gate-1", 3, "long_jump", 1.0),
                ],
            )
            wait_until(lambda: gateway.ingest.stats["stored"] == 3, what="three events stored")

            def sprint() -> dict[str, object] | None:
                item = _s1_item(client, auth, lesson_id, "run_50m")
                return item if item and item.get("attempts") == 2 else None

            wait_until(lambda: sprint() is not None, what="both scored sprint attempts")
            shown = sprint()
            assert shown is not None
            # grade 5 male, run_50m: 8.8 s = 80 points, 9.0 s = 78; 8.9 s reaches only 78.
            # The latest attempt is the result; the first stays in the history.
            assert (shown["value"], shown["score"]) == (8.9, 78)
            r = client.get("/api/fitness/students/s1/results", headers=auth)
            assert r.status_code == 200, r.text
            attempts = r.json()["attempts"]
            assert sorted((a["value"], a["current"]) for a in attempts) == [
                (8.9, True),
                (9.3, False),
            ]
    finally:
        gateway.stop()
