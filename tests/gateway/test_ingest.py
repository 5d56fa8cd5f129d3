"""Gateway ingest against a real Mosquitto: storage, deduplication, dead letters, metrics."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import gateway.ingest as ingest_module
from campusedge.broker import MosquittoProcess
from campusedge.settings import MqttSettings
from gateway.api.app import create_app
from gateway.ingest import IngestSettings
from gateway.roster import LessonKind
from gateway.service import Gateway, GatewaySettings
from gateway.store.base import DEAD_LETTER_PAYLOAD_BYTES
from gateway.store.sqlite import SqliteStore
from tests.conftest import mqtt_settings_for
from tests.gateway.mqtt_helpers import Collector, publish_all, reading, wait_until
from tests.services import InfluxProcess

pytestmark = pytest.mark.mosquitto


def make_gateway(
    tmp_path: Path, mqtt_settings: MqttSettings, school: str, **store_kw: object
) -> Gateway:
    settings = GatewaySettings(
        store_url=f"sqlite:///{tmp_path / 'readings.db'}",
        state_db=tmp_path / "state.db",
        api_port=0,
        ingest=IngestSettings(school=school, client_id=f"gw-{school}"),
    )
    return Gateway(settings, mqtt_settings)


@pytest.fixture
def school() -> str:
    return "s" + uuid.uuid4().hex[:8]


@pytest.fixture
def gateway(tmp_path: Path, mqtt_settings: MqttSettings, school: str) -> Iterator[Gateway]:
    gw = make_gateway(tmp_path, mqtt_settings, school)
    gw.start()
    assert gw.ingest.connected.wait(10)
    yield gw
    gw.stop()


def test_readings_are_stored_once_in_canonical_units(
    gateway: Gateway, mqtt_settings: MqttSettings, school: str
) -> None:
    messages = [reading(school, f"hr-{d}", seq) for d in range(5) for seq in range(40)]
    topic, body = reading(school, "hr-0", 3)
    publish_all(mqtt_settings, [*messages, (topic, body), (topic, body)])  # resent twice
    wait_until(lambda: gateway.ingest.stats["stored"] == 200, what="200 stored")
    wait_until(lambda: gateway.ingest.stats["duplicates"] == 2, what="2 duplicates")
    assert gateway.store.count_messages() == 200
    assert gateway.store.duplicate_keys() == 0
    rows = gateway.store.readings(device_id="hr-3", metric="heart_rate")
    assert [r.seq for r in rows] == list(range(40))
    assert {r.unit for r in rows} == {"bpm"}
    # Written in batches, not one commit per message.
    registry = gateway.metrics.registry
    assert registry.get_sample_value("campusedge_batch_size_sum") == 202
    assert registry.get_sample_value("campusedge_batch_size_count") < 202 / 2


def test_unit_normalization_and_vendor_metrics_on_the_way_in(
    gateway: Gateway, mqtt_settings: MqttSettings, school: str
) -> None:
    body = {
        "v": 1,
        "device_id": "gate-1",
        "kind": "temp_gate",
        "seq": 1,
        "ts": datetime.now(UTC).isoformat(),
        "time_quality": "synced",
        "readings": [{"metric": "body_temperature", "value": 99.5, "unit": "degF"}],
    }
    publish_all(
        mqtt_settings,
        [
            (f"campus/{school}/temp_gate/gate-1/reading", json.dumps(body).encode()),
            (f"campus/{school}/jump_rope/acme-7/reading", VENDOR_READING),
        ],
    )
    wait_until(lambda: gateway.ingest.stats["stored"] == 2)
    [row] = gateway.store.readings(device_id="gate-1")
    assert row.unit == "degC" and row.value == pytest.approx(37.5, abs=0.01)
    rows = gateway.store.readings(device_id="acme-7")
    assert sorted((r.metric, r.value, r.unit) for r in rows) == [
        ("acme.jump_rate", 152, "1/min"),
        ("rope_count", 345, "count"),
    ]


def _future() -> str:
    return (datetime.now(UTC) + timedelta(hours=2)).isoformat()


def _body(**over: object) -> bytes:
    b: dict[str, object] = {
        "v": 1,
        "device_id": "hr-x",
        "kind": "hr_band",
        "seq": 1,
        "ts": datetime.now(UTC).isoformat(),
        "time_quality": "synced",
        "readings": [{"metric": "heart_rate", "value": 100, "unit": "bpm"}],
    }
    b.update(over)
    return json.dumps(b).encode()


MALFORMED = {
    "not_json": b"\x00\x01 definitely not json",
    "wrong_types": _body(seq="twelve"),
    "nan": b'{"v":1,"device_id":"hr-x","kind":"hr_band","seq":1,"ts":"2026-01-01T00:00:00Z",'
    b'"time_quality":"synced","readings":[{"metric":"heart_rate","value":NaN,'
    b'"unit":"bpm"}]}',
    "infinity": _body().replace(b'"value": 100', b'"value": Infinity'),
    "out_of_range": _body(readings=[{"metric": "heart_rate", "value": 1000, "unit": "bpm"}]),
    "future_timestamp": _body(ts=_future()),
    "too_large": _body(pad="x" * 70_000),
    "unknown_version": _body(v=9),
    "no_version_bad_fields": b'{"device_id": "hr-x", "kind": "hr_band"}',
    # Once poison: they raised past the parser, and the batch was retried for ever.
    "huge_number": b'{"v": 1, "seq": ' + b"7" * 5000 + b"}",
    "timestamp_out_of_range": _body(ts="0001-01-01T00:00:00+23:59"),
    "clock_not_set": _body(ts="1900-01-01T00:00:00Z"),
    "integer_beyond_float": _body(
        readings=[{"metric": "heart_rate", "value": 10**400, "unit": "bpm"}]
    ),
    # Neither a built-in metric nor a vendor one (`vendor.metric`, lower case).
    "bad_metric_name": _body(readings=[{"metric": "Acme.Rate", "value": 1, "unit": "count"}]),
}
# A plug-in driver's rope base station: its vendor.metric is stored as sent.
VENDOR_READING = _body(
    device_id="acme-7",
    kind="jump_rope",
    readings=[
        {"metric": "rope_count", "value": 345, "unit": "count"},
        {"metric": "acme.jump_rate", "value": 152, "unit": "1/min"},
    ],
)
EXPECTED_REASON = {
    "not_json": "not_json",
    "wrong_types": "invalid",
    "nan": "non_finite",
    "infinity": "non_finite",
    "out_of_range": "out_of_range",
    "future_timestamp": "future_timestamp",
    "too_large": "too_large",
    "unknown_version": "unsupported_version",
    "no_version_bad_fields": "invalid",
    "huge_number": "invalid",
    "timestamp_out_of_range": "invalid",
    "clock_not_set": "invalid",
    "integer_beyond_float": "invalid",
    "bad_metric_name": "invalid",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_input_is_dead_lettered_and_ingest_goes_on(
    case: str, gateway: Gateway, mqtt_settings: MqttSettings, school: str
) -> None:
    dead = Collector(mqtt_settings, f"campus/{school}/deadletter")
    try:
        publish_all(
            mqtt_settings,
            [
                (f"campus/{school}/hr_band/hr-x/reading", MALFORMED[case]),
                reading(school, "hr-ok", 1),
            ],
        )
        [(_, raw)] = dead.wait_for(1)
    finally:
        dead.close()
    letter = json.loads(raw)
    assert letter["reason"] == EXPECTED_REASON[case]
    assert letter["topic"] == f"campus/{school}/hr_band/hr-x/reading"
    assert letter["detail"]
    wait_until(lambda: gateway.ingest.stats["stored"] == 1, what="the valid message stored")
    stored = gateway.store.dead_letters()
    assert [d.reason for d in stored] == [EXPECTED_REASON[case]]
    # The store keeps the payload, or its first 48 KiB for an oversize one.
    kept = MALFORMED[case][:DEAD_LETTER_PAYLOAD_BYTES]
    assert stored[0].payload == kept and len(kept) == min(len(MALFORMED[case]), 48 * 1024)
    text = TestClient(create_app(gateway)).get("/metrics").text
    assert f'campusedge_dead_letters_total{{reason="{EXPECTED_REASON[case]}"}} 1.0' in text


def test_bad_topic_is_dead_lettered(
    gateway: Gateway, mqtt_settings: MqttSettings, school: str
) -> None:
    dead = Collector(mqtt_settings, f"campus/{school}/deadletter")
    try:
        publish_all(mqtt_settings, [(f"campus/{school}/toaster/t-1/reading", _body())])
        [(_, raw)] = dead.wait_for(1)
    finally:
        dead.close()
    assert json.loads(raw)["reason"] == "bad_topic"


def test_status_updates_the_fleet_and_metrics(
    gateway: Gateway, mqtt_settings: MqttSettings, school: str
) -> None:
    status = {
        "v": 1,
        "device_id": "rope-base-1",
        "kind": "jump_rope",
        "state": "online",
        "firmware": "2.1.0",
        "battery_pct": 77,
    }
    publish_all(
        mqtt_settings,
        [
            (f"campus/{school}/jump_rope/rope-base-1/status", json.dumps(status).encode()),
            reading(school, "hr-9", 1),
        ],
        retain=False,
    )
    wait_until(
        lambda: gateway.ingest.stats["statuses"] == 1 and gateway.ingest.stats["stored"] == 1
    )
    # The registry is the devices consumer's, which runs after the commit.
    wait_until(lambda: gateway.devices.get("rope-base-1") is not None, what="the registry")
    record = gateway.devices.get("rope-base-1")
    assert record is not None and record.state == "online" and record.battery_pct == 77
    client = TestClient(create_app(gateway))
    assert client.get("/healthz").json()["mqtt_connected"] is True
    text = client.get("/metrics").text
    # hr-9 has sent no status, so it is not enrolled: counted with the unknown, no series of
    # its own (anyone may publish on made-up device ids).
    assert 'campusedge_device_messages_total{device_id="(unknown)",kind="hr_band"} 1.0' in text
    assert 'device_id="hr-9"' not in text


class FlakyStore(SqliteStore):
    """A real SQLite store whose first writes fail, as a full disk or a locked file would."""

    failures = 2

    def write(self, messages):  # type: ignore[no-untyped-def]
        if self.failures:
            self.failures -= 1
            raise OSError("disk I/O error (injected)")
        return super().write(messages)


def test_failed_commit_is_retried_and_nothing_is_acknowledged_before(
    tmp_path: Path, mqtt_settings: MqttSettings, school: str
) -> None:
    settings = GatewaySettings(
        state_db=tmp_path / "state.db",
        api_port=0,
        ingest=IngestSettings(school=school, client_id=f"gw-{school}"),
    )
    store = FlakyStore(tmp_path / "r.db")
    gw = Gateway(settings, mqtt_settings, store=store)
    gw.start()
    try:
        assert gw.ingest.connected.wait(10)
        publish_all(mqtt_settings, [reading(school, "hr-1", s) for s in range(10)])
        wait_until(lambda: gw.ingest.stats["stored"] == 10, what="stored after retries")
        assert store.failures == 0
        assert gw.metrics.store_errors._value.get() == 2
    finally:
        gw.stop()


def test_persistent_session_keeps_messages_while_gateway_is_down(
    tmp_path: Path, mqtt_settings: MqttSettings, school: str
) -> None:
    gw = make_gateway(tmp_path, mqtt_settings, school)
    gw.start()
    assert gw.ingest.connected.wait(10)
    gw.stop()
    publish_all(mqtt_settings, [reading(school, "hr-1", s) for s in range(300)])
    gw = make_gateway(tmp_path, mqtt_settings, school)
    gw.start()
    try:
        wait_until(lambda: gw.store.count_messages() == 300, what="backlog delivered")
    finally:
        gw.stop()


def test_api_healthz_over_http(
    tmp_path: Path, mosquitto: MosquittoProcess, mqtt_settings: MqttSettings, school: str
) -> None:
    gw = make_gateway(tmp_path, mqtt_settings, school)
    gw.start()
    try:
        assert gw.ingest.connected.wait(10)
        with TestClient(create_app(gw)) as client:
            body = client.get("/healthz").json()
            assert body["status"] == "ok" and body["writer_alive"] is True
            assert set(body["consumers"]) == {
                "alerts",
                "box_commands",
                "competitions",
                "devices",
                "fitness_results",
                "health",
                "live_lessons",
            }
            assert all(c["alive"] for c in body["consumers"].values())
            # A consumer thread that dies leaves alerts unraised: the gateway says so.
            gw.consumers.runners["alerts"].stop()
            response = client.get("/healthz")
            assert response.status_code == 503
            assert response.json()["consumers"]["alerts"]["alive"] is False
    finally:
        gw.stop()


def test_dead_letters_per_device_label_only_known_devices(
    gateway: Gateway, mqtt_settings: MqttSettings, school: str
) -> None:
    # hr-known has sent a valid reading, so the gateway knows it; the 40 others are made-up
    # ids in the topics of garbage, which must not each become a metric series.
    publish_all(mqtt_settings, [reading(school, "hr-known", 1)])
    wait_until(lambda: gateway.ingest.stats["stored"] == 1, what="hr-known stored")
    garbage = [(f"campus/{school}/hr_band/made-up-{i}/reading", b"garbage") for i in range(40)]
    publish_all(mqtt_settings, [*garbage, (f"campus/{school}/hr_band/hr-known/reading", b"x")])
    wait_until(lambda: gateway.ingest.stats["dead_lettered"] == 41, what="41 dead letters")
    samples = {
        s.labels["device_id"]: s.value
        for metric in gateway.metrics.registry.collect()
        if metric.name == "campusedge_device_dead_letters"
        for s in metric.samples
        if s.name.endswith("_total")
    }
    assert samples == {"(unknown)": 40.0, "hr-known": 1.0}


def test_healthz_is_503_while_the_broker_is_gone(
    tmp_path: Path, own_mosquitto: MosquittoProcess, school: str
) -> None:
    gw = make_gateway(tmp_path, mqtt_settings_for(own_mosquitto), school)
    gw.start()
    try:
        assert gw.ingest.connected.wait(10)
        client = TestClient(create_app(gw))
        assert client.get("/healthz").status_code == 200
        own_mosquitto.stop()
        wait_until(lambda: not gw.ingest.connected.is_set(), what="the broker's loss noticed")
        answer = client.get("/healthz")
        assert answer.status_code == 503
        assert answer.json()["status"] == "degraded"
        assert answer.json()["mqtt_connected"] is False
        assert "campusedge_mqtt_connected 0.0" in client.get("/metrics").text
    finally:
        gw.stop()


class BrokenStore(SqliteStore):
    """A real SQLite store that cannot commit anything, as a full disk would."""

    def write(self, messages):  # type: ignore[no-untyped-def]
        raise OSError("disk full (injected)")


def test_nothing_uncommitted_is_acknowledged(
    tmp_path: Path, mqtt_settings: MqttSettings, school: str
) -> None:
    # A gateway that never manages to commit stops; the broker must still hold every
    # message for the next one on the same session, so none was acknowledged.
    settings = GatewaySettings(
        state_db=tmp_path / "state.db",
        api_port=0,
        ingest=IngestSettings(school=school, client_id=f"gw-{school}"),
    )
    broken = Gateway(settings, mqtt_settings, store=BrokenStore(tmp_path / "broken.db"))
    broken.start()
    try:
        assert broken.ingest.connected.wait(10)
        publish_all(mqtt_settings, [reading(school, "hr-1", s) for s in range(10)])
        wait_until(lambda: broken.metrics.store_errors._value.get() >= 2, what="failed commits")
    finally:
        broken.stop()
    assert broken.ingest.stats["stored"] == 0
    healthy = make_gateway(tmp_path, mqtt_settings, school)
    healthy.start()
    try:
        wait_until(lambda: healthy.store.count_messages() == 10, what="all 10 redelivered")
    finally:
        healthy.stop()


def test_a_parser_failure_on_one_message_is_dead_lettered_not_retried(
    gateway: Gateway, mqtt_settings: MqttSettings, school: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever slips past the parser's own checks (as a 5000-digit number once did) must
    # cost that message only, not hold its batch, and ingest, in a retry loop.
    real = ingest_module.parse_message

    def parse_with_a_bug(topic: Any, payload: bytes, **kw: Any) -> Any:
        if b"trigger-the-bug" in payload:
            raise RuntimeError("a bug in the parser (injected)")
        return real(topic, payload, **kw)

    monkeypatch.setattr(ingest_module, "parse_message", parse_with_a_bug)
    dead = Collector(mqtt_settings, f"campus/{school}/deadletter")
    try:
        publish_all(
            mqtt_settings,
            [
                (f"campus/{school}/hr_band/hr-x/status", b'{"trigger-the-bug": 1}'),
                reading(school, "hr-ok", 1),
            ],
        )
        [(_, raw)] = dead.wait_for(1)
    finally:
        dead.close()
    letter = json.loads(raw)
    assert letter["reason"] == "internal_error" and "RuntimeError" in letter["detail"]
    wait_until(lambda: gateway.ingest.stats["stored"] == 1, what="the valid message stored")
    assert gateway.metrics.store_errors._value.get() == 0


@pytest.mark.influxdb
def test_every_kind_of_malformed_input_is_dead_lettered_with_influxdb_as_the_store(
    tmp_path: Path, mqtt_settings: MqttSettings, school: str, influxd: InfluxProcess
) -> None:
    settings = GatewaySettings(
        store_url=f"influx://127.0.0.1:{influxd.port}/gw_{school}",
        state_db=tmp_path / "s.db",
        api_port=0,
        ingest=IngestSettings(school=school, client_id=f"gw-{school}"),
    )
    gw = Gateway(settings, mqtt_settings)
    gw.start()
    try:
        assert gw.ingest.connected.wait(10)
        cases = sorted(MALFORMED)
        publish_all(
            mqtt_settings,
            [
                *((f"campus/{school}/hr_band/hr-x/reading", MALFORMED[c]) for c in cases),
                reading(school, "hr-ok", 1),
                (f"campus/{school}/jump_rope/acme-7/reading", VENDOR_READING),
            ],
        )
        wait_until(lambda: gw.ingest.stats["stored"] == 2, what="the valid messages stored")
        [vendor] = gw.store.readings(device_id="acme-7", metric="acme.jump_rate")
        assert (vendor.value, vendor.unit) == (152, "1/min")
        letters = gw.store.dead_letters()
        assert sorted(d.reason for d in letters) == sorted(EXPECTED_REASON[c] for c in cases)
        for letter in letters:  # an oversize one keeps a prefix in InfluxDB
            assert any(MALFORMED[c].startswith(letter.payload) for c in cases)
        assert gw.metrics.store_errors._value.get() == 0
    finally:
        gw.stop()


@pytest.mark.influxdb
def test_with_influxdb_as_the_store_messages_are_bound_and_consumers_follow(
    tmp_path: Path, mqtt_settings: MqttSettings, school: str, influxd: InfluxProcess
) -> None:
    settings = GatewaySettings(
        store_url=f"influx://127.0.0.1:{influxd.port}/gw_{school}",
        state_db=tmp_path / "s.db",
        api_port=0,
        ingest=IngestSettings(school=school, client_id=f"gw-{school}"),
    )
    gw = Gateway(settings, mqtt_settings)
    gw.roster.add_class("c1", school, "Class 1", "5")
    gw.roster.add_student("s1", "Student One", "F", date(2015, 1, 1), "c1")
    lesson = gw.roster.start_lesson(
        "c1", "t1", LessonKind.LESSON, {"hr-1": "s1"}, at=datetime.now(UTC) - timedelta(minutes=1)
    )
    gw.start()
    try:
        assert gw.ingest.connected.wait(10)
        publish_all(mqtt_settings, [reading(school, "hr-1", 1, 150), reading(school, "hr-2", 1)])
        wait_until(lambda: gw.ingest.stats["stored"] == 2, what="both stored")
        # The binding is kept in InfluxDB with the message...
        rows = {
            r["device_id"]: (r.get("student_id"), r.get("lesson_id"))
            for series in gw.store.query(  # type: ignore[attr-defined]
                "SELECT student_id, lesson_id, seq FROM message GROUP BY device_id"
            )
            for r in series.rows()
        }
        assert rows == {"hr-1": ("s1", lesson.id), "hr-2": (None, None)}
        # ...and the consumers read it from the commit log, as with SQLite.
        wait_until(
            lambda: gw.live_lessons.snapshot(lesson.id).get(("s1", "heart_rate")) is not None,
            what="the live view fed by its consumer",
        )
        wait_until(
            lambda: gw.devices.get("hr-2") is not None, what="the registry fed by its consumer"
        )
        wait_until(gw.consumers.caught_up, what="every consumer caught up")
    finally:
        gw.stop()


def test_a_registry_failure_after_the_commit_does_not_write_dead_letters_twice(
    gateway: Gateway, mqtt_settings: MqttSettings, school: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def registry_down(device_ids: Any) -> dict[str, str]:
        raise sqlite3.OperationalError("database is locked (injected)")

    monkeypatch.setattr(gateway.devices, "kinds", registry_down)
    publish_all(
        mqtt_settings,
        [(f"campus/{school}/hr_band/hr-x/reading", b"garbage"), reading(school, "hr-ok", 1)],
    )
    wait_until(lambda: gateway.ingest.stats["stored"] == 1, what="the batch committed")
    wait_until(lambda: gateway.ingest.stats["dead_lettered"] == 1, what="the letter counted")
    assert len(gateway.store.dead_letters()) == 1
    assert gateway.metrics.store_errors._value.get() == 0
