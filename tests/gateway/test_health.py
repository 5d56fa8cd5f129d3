"""/healthz and /readyz tell the truth: a failing store, a stalled commit, a wedged MQTT process."""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from campusedge.settings import MqttSettings
from gateway.api.app import create_app
from gateway.ingest import IngestSettings
from gateway.service import Gateway, GatewaySettings
from gateway.store.base import WriteResult
from gateway.store.sqlite import SqliteStore
from tests.gateway.mqtt_helpers import publish_all, reading, wait_until

pytestmark = pytest.mark.mosquitto


class SwitchableStore(SqliteStore):
    """A real SQLite store whose writes fail while `failing` is set, as a full disk's would."""

    failing = False

    def write(self, messages: object) -> WriteResult:
        if self.failing:
            raise OSError("No space left on device (injected)")
        return super().write(messages)  # type: ignore[arg-type]


def _gateway(
    tmp_path: Path, mqtt_settings: MqttSettings, store: SqliteStore, stall_s: float = 2.0
) -> Gateway:
    school = "h" + uuid.uuid4().hex[:8]
    settings = GatewaySettings(
        state_db=tmp_path / "state.db",
        api_port=0,
        alerts_enabled=False,
        ingest=IngestSettings(school=school, client_id=f"gw-{school}", stall_after_s=stall_s),
    )
    return Gateway(settings, mqtt_settings, store=store)


def test_a_failing_store_makes_health_fail_with_the_reason_and_it_recovers(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    store = SwitchableStore(tmp_path / "r.db")
    gw = _gateway(tmp_path, mqtt_settings, store)
    school = gw.settings.ingest.school
    gw.start()
    try:
        assert gw.ingest.connected.wait(10)
        api = TestClient(create_app(gw))
        assert api.get("/healthz").status_code == 200
        assert api.get("/readyz").status_code == 200
        store.failing = True
        publish_all(mqtt_settings, [reading(school, "hr-1", s) for s in range(20)])
        wait_until(lambda: "store_failing" in gw.ingest.problems(), what="store_failing")
        answer = api.get("/healthz")
        assert answer.status_code == 503
        body = answer.json()
        assert body["status"] == "degraded"
        assert "No space left on device" in body["problems"]["store_failing"]
        wait_until(lambda: gw.ingest.waiting() == 20, what="all 20 waiting, none acknowledged")
        # Messages wait and nothing is committed: after stall_after_s that is said too.
        wait_until(lambda: "commit_stalled" in gw.ingest.problems(), what="commit_stalled")
        metrics = api.get("/metrics").text
        assert 'campusedge_health_problem{reason="store_failing"} 1.0' in metrics
        assert 'campusedge_health_problem{reason="commit_stalled"} 1.0' in metrics
        assert api.get("/readyz").status_code == 503
        store.failing = False
        wait_until(lambda: store.count_messages() == 20, 30, "the 20 stored once space returns")
        wait_until(lambda: api.get("/healthz").status_code == 200, what="healthy again")
        assert 'campusedge_health_problem{reason="store_failing"} 0.0' in api.get("/metrics").text
    finally:
        gw.stop()


def test_the_watchdog_restarts_a_wedged_mqtt_process_and_nothing_is_lost(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    store = SqliteStore(tmp_path / "r.db")
    gw = _gateway(tmp_path, mqtt_settings, store)
    school = gw.settings.ingest.school
    gw.start()
    try:
        assert gw.ingest.connected.wait(10)
        wedged = gw.ingest.mqtt_pid
        assert wedged is not None
        # A stopped process is the plainest wedge: it holds its connection and does nothing.
        os.kill(wedged, signal.SIGSTOP)
        publish_all(mqtt_settings, [reading(school, "hr-1", s) for s in range(30)])
        wait_until(lambda: gw.metrics.mqtt_side_restarts._value.get() == 1, 30, "a restart")
        assert "mqtt_wedged" in gw.ingest.problems()
        assert "command loop" in gw.ingest.problems()["mqtt_wedged"]
        wait_until(lambda: store.count_messages() == 30, 60, "the 30 stored by the new process")
        assert gw.ingest.mqtt_pid != wedged
        assert store.duplicate_keys() == 0
    finally:
        gw.stop()
