"""The MQTT child process: restarted when it dies, gone when the gateway dies, and no ack
ever leaves it for a message that was not committed."""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import pytest

from campusedge.settings import MqttSettings
from gateway.ingest import IngestSettings
from gateway.ingest_mqtt import puback_packets
from gateway.service import Gateway, GatewaySettings
from gateway.store.base import DeadLetter, StoreUnavailable, WriteResult
from gateway.store.sqlite import SqliteStore
from tests.gateway.mqtt_helpers import publish_all, reading, wait_until
from tests.gateway.test_crash import start_gateway

pytestmark = pytest.mark.mosquitto


class BrokenStore(SqliteStore):
    """A real SQLite store whose every write fails, as a disk gone read-only would."""

    def write(self, messages: object) -> WriteResult:
        raise OSError("disk I/O error (injected)")


def _gateway(
    tmp_path: Path, mqtt_settings: MqttSettings, school: str, store: SqliteStore
) -> Gateway:
    settings = GatewaySettings(
        state_db=tmp_path / "state.db",
        api_port=0,
        ingest=IngestSettings(school=school, client_id=f"gw-{school}"),
    )
    return Gateway(settings, mqtt_settings, store=store)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_puback_bytes() -> None:
    assert puback_packets([1, 258]) == b"\x40\x02\x00\x01\x40\x02\x01\x02"


def test_killed_mqtt_process_is_restarted_and_acks_nothing_uncommitted(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    school = "k" + uuid.uuid4().hex[:8]
    gw = _gateway(tmp_path, mqtt_settings, school, BrokenStore(tmp_path / "broken.db"))
    gw.start()
    try:
        assert gw.ingest.connected.wait(10)
        first = gw.ingest.mqtt_pid
        assert first is not None
        publish_all(mqtt_settings, [reading(school, "hr-1", s) for s in range(50)])
        wait_until(lambda: gw.metrics.store_errors._value.get() >= 1, what="a failed commit")
        os.kill(first, signal.SIGKILL)
        wait_until(
            lambda: gw.ingest.mqtt_pid != first and gw.ingest.connected.is_set(),
            30,
            "a new MQTT process connected",
        )
        assert gw.ingest.stats["stored"] == 0
    finally:
        gw.stop()
    # Nothing was committed, so nothing may have been acknowledged: the broker still holds
    # all 50 in the session and hands them to the next gateway with a working store.
    store = SqliteStore(tmp_path / "good.db")
    gw = _gateway(tmp_path, mqtt_settings, school, store)
    gw.start()
    try:
        wait_until(lambda: store.count_messages() == 50, 30, "the 50 messages redelivered")
        assert store.duplicate_keys() == 0
    finally:
        gw.stop()


def test_mqtt_process_exits_when_the_gateway_is_killed(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    gw = start_gateway(tmp_path / "r.db", mqtt_settings, "p" + uuid.uuid4().hex[:8])
    try:
        children: list[int] = []

        def found() -> bool:
            children.extend(
                int(c) for c in Path(f"/proc/{gw.pid}/task/{gw.pid}/children").read_text().split()
            )
            return bool(children)

        wait_until(found, 30, "the MQTT child process")
        os.kill(gw.pid, signal.SIGKILL)
        gw.wait(10)
        wait_until(lambda: not any(_alive(c) for c in children), 10, "the child gone too")
    finally:
        if gw.poll() is None:
            gw.kill()
            gw.wait()


def test_mqtt5_keeps_its_session_and_acks_after_commit(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    school = "v" + uuid.uuid4().hex[:8]
    store = SqliteStore(tmp_path / "r.db")
    settings = GatewaySettings(
        state_db=tmp_path / "state.db",
        api_port=0,
        ingest=IngestSettings(school=school, client_id=f"gw-{school}", protocol="5"),
    )
    gw = Gateway(settings, mqtt_settings, store=store)
    gw.start()
    try:
        assert gw.ingest.connected.wait(10)
        publish_all(mqtt_settings, [reading(school, "hr-1", s) for s in range(20)])
        wait_until(lambda: gw.ingest.stats["stored"] == 20, what="20 stored over MQTT 5")
    finally:
        gw.stop()
    publish_all(mqtt_settings, [reading(school, "hr-1", s) for s in range(20, 30)])
    store = SqliteStore(tmp_path / "r.db")  # stopping the gateway closed the first one
    gw = Gateway(settings, mqtt_settings, store=store)
    gw.start()
    try:
        wait_until(lambda: store.count_messages() == 30, what="the backlog after a restart")
        assert gw.ingest.stats["duplicates"] == 0  # the first 20 were acknowledged
    finally:
        gw.stop()


def test_two_gateways_with_one_client_id_get_a_hint_in_the_log(
    tmp_path: Path, mqtt_settings: MqttSettings, caplog: pytest.LogCaptureFixture
) -> None:
    school = "d" + uuid.uuid4().hex[:8]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    gateways = [
        _gateway(tmp_path / d, mqtt_settings, school, SqliteStore(tmp_path / d / "r.db"))
        for d in ("a", "b")
    ]
    with caplog.at_level("WARNING", logger="gateway.ingest"):
        for gw in gateways:
            gw.start()
        try:
            # Each one's connection throws the other's off; the log says why that may be.
            wait_until(
                lambda: "is another client using the client id" in caplog.text,
                30,
                "the hint about a shared client id",
            )
        finally:
            for gw in gateways:
                gw.stop()
    assert f"'gw-{school}'" in caplog.text


class DeadLettersUnreadable(SqliteStore):
    """A real SQLite store that cannot list its dead letters (as an InfluxDB not up yet)."""

    def dead_letters(
        self, *, limit: int = 1_000, topic_suffix: str | None = None
    ) -> list[DeadLetter]:
        raise StoreUnavailable("influx query: ConnectError (injected)")


def test_ingest_starts_when_the_stored_dead_letters_cannot_be_read(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    school = "d" + uuid.uuid4().hex[:8]
    store = DeadLettersUnreadable(tmp_path / "store.db")
    gw = _gateway(tmp_path, mqtt_settings, school, store)
    gw.start()
    try:
        assert gw.ingest.connected.wait(10)
        publish_all(mqtt_settings, [reading(school, "hr-1", 1)])
        wait_until(lambda: store.count_messages() == 1, 20, "the reading stored")
    finally:
        gw.stop()
