"""End to end through a real Mosquitto: a gate reading → SSE (by role), webhook and MQTT."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from campusedge.settings import MqttSettings
from gateway.alerts.bench import gate_pass_payload
from gateway.alerts.delivery.receiver import WebhookReceiver
from gateway.auth import Role
from gateway.ingest import IngestSettings
from gateway.roster import LessonKind
from gateway.service import Gateway, GatewaySettings
from tests.gateway.api_server import serve_api

pytestmark = pytest.mark.mosquitto


def wait_until(check: Callable[[], bool], timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


class SseReader:
    """Reads an SSE stream on a thread and keeps the decoded `data:` payloads."""

    def __init__(self, url: str, token: str) -> None:
        self.events: list[dict[str, Any]] = []
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, token), daemon=True)
        self._thread.start()

    def _run(self, url: str, token: str) -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(5, read=None)) as http,
            http.stream("GET", url, params={"access_token": token}) as response,
        ):
            for line in response.iter_lines():
                if line.startswith(": subscribed"):
                    self.ready.set()
                elif line.startswith("data: "):
                    self.events.append(json.loads(line[6:]))


@pytest.fixture
def running(tmp_path: Path, mqtt_settings: MqttSettings) -> Iterator[dict[str, Any]]:
    school = f"e2e{uuid.uuid4().hex[:6]}"
    receiver = WebhookReceiver().start()
    alerts_dir = tmp_path / "alerts"
    alerts_dir.mkdir()
    (alerts_dir / f"{school}.yaml").write_text(
        "lifecycle: {group_interval_s: 0}\n"
        "heart_rate: {high_sustain_s: 1}\n"
        f"delivery:\n  webhooks:\n    - {{name: office, url: '{receiver.url}'}}\n"
    )
    settings = GatewaySettings(
        store_url=f"sqlite:///{tmp_path}/readings.db",
        state_db=tmp_path / "state.db",
        alerts_dir=alerts_dir,
        ingest=IngestSettings(school=school, client_id=f"gw-{school}"),
    )
    gw = Gateway(settings, mqtt_settings)
    gw.roster.add_class("c1", school, "Class 1", "7")
    gw.roster.add_student("s1", "Name One", "F", date(2014, 3, 1), "c1", card_id="card-1")
    gw.roster.add_student("s2", "Name Two", "M", date(2014, 3, 1), "c1")
    tokens = {
        "nurse": gw.users.create("nurse", "Nurse", Role.HEALTH_STAFF, schools=[school]),
        "it": gw.users.create("it", "IT", Role.CAMPUS_IT, schools=[school]),
        "t1": gw.users.create("t1", "Teacher 1", Role.PE_TEACHER, schools=[school]),
        "t2": gw.users.create("t2", "Teacher 2", Role.PE_TEACHER, schools=[school]),
    }
    api = serve_api(gw)
    gw.start()
    assert gw.ingest.connected.wait(10)
    alerts_seen: list[tuple[str, dict[str, Any]]] = []
    listener = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"display-{school}")
    assert mqtt_settings.username and mqtt_settings.password
    listener.username_pw_set(mqtt_settings.username, mqtt_settings.password.get_secret_value())
    listener.on_message = lambda _c, _u, m: alerts_seen.append((m.topic, json.loads(m.payload)))
    listener.connect(mqtt_settings.host, mqtt_settings.port)
    listener.subscribe(f"campus/{school}/alert/#", qos=1)
    listener.loop_start()
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{school}")
    publisher.username_pw_set(mqtt_settings.username, mqtt_settings.password.get_secret_value())
    publisher.connect(mqtt_settings.host, mqtt_settings.port)
    publisher.loop_start()
    base = f"{api.base}/api/alerts/stream"
    readers = {who: SseReader(base, token) for who, token in tokens.items()}
    assert all(r.ready.wait(10) for r in readers.values())
    time.sleep(0.3)  # the display's subscription is in place
    try:
        yield {
            "school": school,
            "publisher": publisher,
            "receiver": receiver,
            "mqtt": alerts_seen,
            "sse": readers,
            "gateway": gw,
        }
    finally:
        publisher.loop_stop()
        listener.loop_stop()
        assert gw.alerts is not None
        gw.alerts.hub.close()  # ends the streams, as Gateway.stop does
        api.stop()
        gw.stop()
        receiver.stop()


def test_gate_fever_reaches_every_channel(running: dict[str, Any]) -> None:
    school, publisher = running["school"], running["publisher"]
    publisher.publish(
        f"campus/{school}/temp_gate/gate-1/event",
        gate_pass_payload("card-1", 1, 38.4, device_id="gate-1"),
        qos=1,
    )
    receiver: WebhookReceiver = running["receiver"]
    assert receiver.wait_for(1, timeout_s=10)
    assert wait_until(lambda: len(running["mqtt"]) >= 1)
    nurse, it = running["sse"]["nurse"], running["sse"]["it"]
    assert wait_until(lambda: len(nurse.events) >= 1)

    [(topic, shown)] = running["mqtt"]
    assert topic == f"campus/{school}/alert/warning/fever"
    assert shown["alerts"][0]["student_id"] == "s1"
    hook = receiver.received[0].body
    assert hook["rule"] == "fever" and hook["alerts"][0]["detail"]["temperature_c"] == 38.4
    for payload in (shown, hook):
        assert "Name One" not in json.dumps(payload)
    [event] = nurse.events
    assert event["alerts"][0]["student_name"] == "Name One"
    # The delivery log holds the webhook's delivery and the broker's PUBACK of the display feed.
    gw: Gateway = running["gateway"]
    assert gw.alerts is not None
    deliveries = gw.alerts.delivery_log

    def delivered() -> set[tuple[str, str]]:
        return {
            (e.channel, e.target)
            for e in deliveries.entries(notification_id=event["notification_id"])
            if e.status == "delivered"
        }

    assert wait_until(lambda: len(delivered()) == 2)
    assert delivered() == {("webhook", "office"), ("mqtt", topic)}
    # Campus IT is not told about a fever; it is told about a gate going offline.
    publisher.publish(
        f"campus/{school}/temp_gate/gate-1/status",
        json.dumps({"v": 1, "device_id": "gate-1", "kind": "temp_gate", "state": "offline"}),
        qos=1,
    )
    assert wait_until(lambda: len(it.events) >= 1)
    assert [e["rule"] for e in it.events] == ["device_offline"]
    assert [e["rule"] for e in nurse.events] == ["fever"]
    assert running["sse"]["t1"].events == [] and running["sse"]["t2"].events == []
    # The stream read of health data was audited.
    assert any(
        e.action == "stream_alert" and e.subject_id == "s1"
        for e in gw.audit.entries(user_id="nurse")
    )


def test_redelivery_after_restart_adds_no_alert(running: dict[str, Any]) -> None:
    school, publisher = running["school"], running["publisher"]
    payload = gate_pass_payload("card-1", 7, 38.0, device_id="gate-2")
    for _ in range(3):  # a device resending the same (device, seq)
        publisher.publish(f"campus/{school}/temp_gate/gate-2/event", payload, qos=1)
    receiver: WebhookReceiver = running["receiver"]
    assert receiver.wait_for(1, timeout_s=10)
    time.sleep(0.5)
    gw: Gateway = running["gateway"]
    assert gw.alerts is not None
    [alert] = gw.alerts.engine.lifecycle.find(school=school)
    assert alert.count == 1
    assert len(receiver.received) == 1


def test_runaway_heart_rate_reaches_the_lessons_teacher_only(running: dict[str, Any]) -> None:
    school, publisher = running["school"], running["publisher"]
    gw: Gateway = running["gateway"]
    gw.roster.start_lesson("c1", "t1", LessonKind.LESSON, {"band-7": "s2"}, lesson_id="pe-e2e")
    for seq in range(3):
        publisher.publish(
            f"campus/{school}/hr_band/band-7/reading",
            json.dumps(
                {
                    "v": 1,
                    "device_id": "band-7",
                    "kind": "hr_band",
                    "seq": seq,
                    "ts": datetime.now(UTC).isoformat(),
                    "time_quality": "synced",
                    "readings": [{"metric": "heart_rate", "value": 205, "unit": "bpm"}],
                }
            ),
            qos=1,
        )
        time.sleep(0.6)
    t1, t2, nurse = (running["sse"][who] for who in ("t1", "t2", "nurse"))
    assert wait_until(lambda: len(t1.events) >= 1 and len(nurse.events) >= 1)
    [event] = t1.events
    assert event["rule"] == "hr_high"
    assert event["alerts"][0]["student_name"] == "Name Two"
    assert nurse.events[0]["alerts"][0]["student_name"] == "Name Two"
    time.sleep(0.3)
    assert t2.events == [] and running["sse"]["it"].events == []
