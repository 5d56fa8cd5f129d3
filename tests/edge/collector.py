"""A test-only MQTT subscriber (QoS 1, persistent session) that records what arrives."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from campusedge.settings import MqttSettings


@dataclass
class Collector:
    settings: MqttSettings
    topics: list[str]
    client_id: str = "test-collector"
    messages: list[tuple[str, bytes, bool]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Collector:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False)
        pw = self.settings.password.get_secret_value() if self.settings.password else None
        c.username_pw_set(self.settings.username, pw)
        c.on_connect = lambda cl, u, f, rc, p: [cl.subscribe(t, qos=1) for t in self.topics]
        c.on_message = self._on_message
        c.reconnect_delay_set(0.2, 1)
        c.connect_async(self.settings.host, self.settings.port, keepalive=10)
        c.loop_start()
        self._client = c
        return self

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def snapshot(self) -> list[tuple[str, bytes, bool]]:
        with self._lock:
            return list(self.messages)

    def wait_for(self, predicate: object, timeout_s: float) -> bool:
        assert callable(predicate)
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if predicate(self.snapshot()):
                return True
            time.sleep(0.05)
        return bool(predicate(self.snapshot()))

    def publish(self, topic: str, payload: bytes) -> None:
        self._client.publish(topic, payload, qos=1).wait_for_publish(5)

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
