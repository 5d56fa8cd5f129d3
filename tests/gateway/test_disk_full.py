"""A full disk under the gateway: nothing acknowledged, health says why, resumes by itself."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from campusedge.settings import MqttSettings
from gateway.api.app import create_app
from gateway.ingest import IngestSettings
from gateway.service import Gateway, GatewaySettings, GatewayStartError
from tests.gateway.mqtt_helpers import publish_all, reading, wait_subscribed, wait_until
from tests.small_disk import fill, small_disk

__all__ = ["small_disk"]  # the fixture

pytestmark = pytest.mark.mosquitto


def _gateway(folder: Path, mqtt_settings: MqttSettings, school: str) -> Gateway:
    # Both databases on the small disk, as both live in /var/lib/campusedge.
    settings = GatewaySettings(
        store_url=f"sqlite:///{folder / 'readings.db'}",
        state_db=folder / "state.db",
        api_port=0,
        alerts_enabled=False,
        ingest=IngestSettings(school=school, client_id=f"gw-{school}"),
    )
    gw = Gateway(settings, mqtt_settings)
    gw.start()
    assert gw.ingest.connected.wait(10)
    return gw


def _started(folder: Path, mqtt_settings: MqttSettings, school: str) -> Gateway:
    """A gateway whose subscription is in place: it has stored the probe reading."""
    gw = _gateway(folder, mqtt_settings, school)
    wait_subscribed(mqtt_settings, school, lambda: gw.ingest.stats["stored"])
    return gw


def _no_slack(folder: Path) -> None:
    """Fold the WAL files into their databases and cut them to nothing, so that the next
    commit needs new space (a WAL reuses its file's length without asking the disk)."""
    for name in ("readings.db", "state.db"):
        with sqlite3.connect(folder / name) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _stored(folder: Path) -> list[tuple[str, int]]:
    """The stored readings, without the probe."""
    with sqlite3.connect(folder / "readings.db") as conn:
        rows = conn.execute("SELECT device_id, seq FROM messages WHERE device_id != 'probe'")
        return [(str(d), int(s)) for d, s in rows]


def _failing(client: TestClient) -> bool:
    answer = client.get("/healthz")
    problems = answer.json()["problems"]
    return answer.status_code == 503 and "disk_full" in problems and "store_failing" in problems


def test_a_full_disk_stops_acknowledging_says_so_and_resumes_when_space_returns(
    small_disk: Path, mqtt_settings: MqttSettings
) -> None:
    school = "s" + uuid.uuid4().hex[:8]
    gw = _started(small_disk, mqtt_settings, school)
    try:
        client = TestClient(create_app(gw))
        publish_all(mqtt_settings, [reading(school, "hr-1", s) for s in range(20)])
        wait_until(lambda: gw.ingest.stats["stored"] == 21, what="20 stored with room")
        assert client.get("/healthz").json()["problems"] == {}

        _no_slack(small_disk)
        filler = fill(small_disk)
        publish_all(
            mqtt_settings, [reading(school, f"hr-{d}", s) for d in (1, 2) for s in range(20, 320)]
        )
        wait_until(lambda: _failing(client), what="/healthz failing with disk_full")
        metrics = client.get("/metrics").text
        assert 'campusedge_health_problem{reason="disk_full"} 1.0' in metrics
        assert 'campusedge_health_problem{reason="store_failing"} 1.0' in metrics
        assert (
            "database or disk is full" in client.get("/healthz").json()["problems"]["store_failing"]
        )
        # Retried, never committed, so never acknowledged: the store holds what it held.
        wait_until(lambda: gw.metrics.store_errors._value.get() >= 3, what="three retries")
        assert gw.ingest.stats["stored"] == 21 and len(_stored(small_disk)) == 20
        assert _failing(client)

        filler.unlink()
        wait_until(lambda: gw.ingest.stats["stored"] == 621, 40, "everything stored")
        assert client.get("/healthz").status_code == 200
        assert client.get("/healthz").json()["problems"] == {}
        assert 'campusedge_health_problem{reason="disk_full"} 0.0' in client.get("/metrics").text
        rows = _stored(small_disk)
        assert len(rows) == len(set(rows)) == 620
    finally:
        gw.stop()


def test_messages_a_full_disk_kept_from_the_store_are_still_at_the_broker(
    small_disk: Path, mqtt_settings: MqttSettings
) -> None:
    # The gateway stops while the disk is full: nothing of the backlog was acknowledged, so
    # the broker gives all of it to the next gateway on the same session.
    school = "s" + uuid.uuid4().hex[:8]
    gw = _started(small_disk, mqtt_settings, school)
    try:
        client = TestClient(create_app(gw))
        _no_slack(small_disk)
        filler = fill(small_disk)
        publish_all(mqtt_settings, [reading(school, "hr-1", s) for s in range(200)])
        wait_until(lambda: _failing(client), what="/healthz failing with disk_full")
    finally:
        gw.stop()
    assert gw.ingest.stats["stored"] == 1  # the probe
    filler.unlink()
    gw = _gateway(small_disk, mqtt_settings, school)
    try:
        wait_until(lambda: gw.ingest.stats["stored"] == 200, 30, "the backlog redelivered")
    finally:
        gw.stop()
    assert sorted(_stored(small_disk)) == [("hr-1", s) for s in range(200)]


def test_a_gateway_started_on_a_full_disk_exits_as_transient_so_systemd_retries(
    small_disk: Path, mqtt_settings: MqttSettings
) -> None:
    school = "s" + uuid.uuid4().hex[:8]
    _gateway(small_disk, mqtt_settings, school).stop()
    filler = fill(small_disk)
    with pytest.raises(GatewayStartError) as failed:
        _gateway(small_disk, mqtt_settings, school)
    # Exit status 1, not 2: the unit's RestartPreventExitStatus=2 must not end the retries.
    assert failed.value.transient
    assert str(small_disk) in str(failed.value)  # names the file (state or readings)
    filler.unlink()
    _gateway(small_disk, mqtt_settings, school).stop()
