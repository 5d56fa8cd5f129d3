"""Test helpers: publish at QoS 1 and wait for PUBACKs; collect messages from a topic."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from campusedge.settings import MqttSettings


def client(settings: MqttSettings, client_id: str | None = None, clean: bool = True) -> mqtt.Client:
    c = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id or uuid.uuid4().hex, clean_session=clean
    )
    pw = settings.password
    c.username_pw_set(settings.username, pw.get_secret_value() if pw else None)
    c.max_inflight_messages_set(200)
    c.connect(settings.host, settings.port)
    c.loop_start()
    return c


def publish_all(
    settings: MqttSettings, messages: Iterable[tuple[str, bytes]], retain: bool = False
) -> int:
    c = client(settings)
    infos = [c.publish(topic, payload, qos=1, retain=retain) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(timeout=30)
    # Disconnect first: the network thread then ends at once, where loop_stop alone waits
    # out its select (a second).
    c.disconnect()
    c.loop_stop()
    return len(infos)


def reading(
    school: str, device: str, seq: int, hr: float = 120, *, ts: datetime | None = None
) -> tuple[str, bytes]:
    body = {
        "v": 1,
        "device_id": device,
        "kind": "hr_band",
        "seq": seq,
        "ts": (ts or datetime.now(UTC)).isoformat(),
        "time_quality": "synced",
        "readings": [{"metric": "heart_rate", "value": hr, "unit": "bpm"}],
    }
    return f"campus/{school}/hr_band/{device}/reading", json.dumps(body).encode()


class Collector:
    """Subscribes to a filter and keeps what arrives."""

    def __init__(self, settings: MqttSettings, topic_filter: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self.client = client(settings)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.subscribe(topic_filter, qos=1)
        subscribed.wait(10)

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    def wait_for(self, count: int, timeout: float = 20) -> list[tuple[str, bytes]]:
        wait_until(lambda: len(self.messages) >= count, timeout, f"{count} messages")
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def wait_until(condition: Callable[[], bool], timeout: float = 20, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def wait_subscribed(
    settings: MqttSettings, school: str, stored: Callable[[], int], timeout: float = 20
) -> None:
    """Publish a probe reading (device `probe`, seq 0) until the gateway has stored it.

    The gateway reports itself connected when it sends SUBSCRIBE, not when the broker has
    taken it: a message published in between is not for its (new) session. Afterwards
    *stored* counts the probe too.
    """
    deadline = time.monotonic() + timeout
    while stored() < 1:
        if time.monotonic() > deadline:
            raise AssertionError(f"the gateway stored no probe within {timeout} s")
        publish_all(settings, [reading(school, "probe", 0)])
        end = time.monotonic() + 0.5
        while stored() < 1 and time.monotonic() < end:
            time.sleep(0.02)
