"""Floods of bad input through a real Mosquitto: ingest keeps storing the good messages among them.

Each flood once froze ingest for good: the writer blocked republishing dead letters into the
pipe to the MQTT process while that process, holding its lock, blocked sending a batch into
the writer's full inbox.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from campusedge.mqtt_client import make_client
from campusedge.settings import MqttSettings
from gateway.ingest import IngestSettings
from gateway.service import Gateway, GatewaySettings
from gateway.store.sqlite import SqliteStore
from tests.gateway.mqtt_helpers import reading, wait_until

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


def _gateway(tmp_path: Path, mqtt_settings: MqttSettings, school: str) -> Gateway:
    settings = GatewaySettings(
        state_db=tmp_path / "state.db",
        api_port=0,
        alerts_enabled=False,
        ingest=IngestSettings(school=school, client_id=f"gw-{school}", stall_after_s=10),
    )
    return Gateway(settings, mqtt_settings, store=SqliteStore(tmp_path / "r.db"))


def _flood(
    mqtt_settings: MqttSettings, school: str, bad: bytes, count: int, is_good: Callable[[int], bool]
) -> Iterator[int]:
    """Publish *count* messages: a valid reading where *is_good*, else *bad*; yields valid seqs."""
    # A wide window, as a broker replaying a session sends: the flood arrives as fast as the
    # broker can send it, not at the pace of a publisher waiting for acknowledgements.
    c = make_client(mqtt_settings, "flood-" + uuid.uuid4().hex[:8], persistent=False)
    c.max_inflight_messages_set(5000)
    c.connect(mqtt_settings.host, mqtt_settings.port)
    c.loop_start()
    topic = f"campus/{school}/hr_band/hr-bad/reading"
    infos = []
    for i in range(count):
        if is_good(i):
            infos.append(c.publish(*reading(school, "hr-good", i), qos=1))
            yield i
        else:
            infos.append(c.publish(topic, bad, qos=1))
    for info in infos:
        info.wait_for_publish(timeout=120)
    c.loop_stop()
    c.disconnect()


def _check_all_stored(gw: Gateway, store: SqliteStore, valid: int, bad: int) -> None:
    wait_until(lambda: store.count_messages() == valid, 240, f"{valid} valid messages stored")
    wait_until(lambda: gw.ingest.stats["dead_lettered"] == bad, 120, f"{bad} dead letters")
    assert store.duplicate_keys() == 0
    wait_until(lambda: gw.ingest.healthy(), 30, "healthy again after the flood")
    assert gw.metrics.mqtt_side_restarts._value.get() == 0, "the watchdog had to step in"


@pytest.mark.parametrize(
    ("bad", "count", "every"),
    [(b'{"v":1,', 30_000, 100), (os.urandom(60 * 1024), 3_000, 10)],
    ids=["truncated-json", "60KiB-garbage"],
)
def test_a_live_flood_of_bad_messages_does_not_wedge_ingest(
    tmp_path: Path, mqtt_settings: MqttSettings, bad: bytes, count: int, every: int
) -> None:
    school = "f" + uuid.uuid4().hex[:8]
    gw = _gateway(tmp_path, mqtt_settings, school)
    gw.start()
    try:
        assert gw.ingest.connected.wait(10)
        valid = len(list(_flood(mqtt_settings, school, bad, count, lambda i: i % every == 0)))
        store = gw.store
        assert isinstance(store, SqliteStore)
        _check_all_stored(gw, store, valid, count - valid)
    finally:
        gw.stop()


def test_a_backlog_with_bad_messages_replayed_at_start_does_not_wedge_ingest(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    school = "b" + uuid.uuid4().hex[:8]
    gw = _gateway(tmp_path, mqtt_settings, school)
    gw.start()  # makes the persistent session, then goes away
    assert gw.ingest.connected.wait(10)
    gw.stop()
    # 20,000 waiting in the session, one in seven bad (the trial froze at 10-20 %).
    good = _flood(mqtt_settings, school, b"not json at all", 20_000, lambda i: i % 7 != 0)
    valid = len(list(good))
    gw = _gateway(tmp_path, mqtt_settings, school)
    gw.start()
    try:
        store = gw.store
        assert isinstance(store, SqliteStore)
        _check_all_stored(gw, store, valid, 20_000 - valid)
    finally:
        gw.stop()
