"""Test helper: an MQTT 5 client that waits for the broker's answers and keeps what arrives."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from campusedge.mqtt_client import make_client
from campusedge.settings import MqttSettings


class Peer:
    """One logged-in client; `connect_reason` is the CONNACK reason ('Success' when in)."""

    def __init__(self, settings: MqttSettings, client_id: str) -> None:
        self.client = make_client(settings, client_id, protocol="5", persistent=False)
        self.messages: list[tuple[str, bytes]] = []
        self._cond = threading.Condition()
        self._acks: dict[int, ReasonCode] = {}
        self._subacks: dict[int, list[ReasonCode]] = {}
        self.connect_reason: str | None = None
        self.disconnected = threading.Event()
        self.disconnect_reason: str | None = None
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self.client.connect(settings.host, settings.port)
        self.client.loop_start()
        # A TLS 1.3 server checks the client's certificate after the client's handshake is
        # done: a refusal shows as the connection closed before any CONNACK.
        self._wait(lambda: self.connect_reason is not None or self.disconnected.is_set(), "CONNACK")

    def _wait(self, done: object, what: str, timeout_s: float = 10.0) -> None:
        assert callable(done)
        with self._cond:
            assert self._cond.wait_for(done, timeout_s), f"no {what} within {timeout_s} s"

    def _on_connect(
        self, _c: object, _u: object, _f: object, reason: ReasonCode, _p: object
    ) -> None:
        with self._cond:
            self.connect_reason = str(reason)
            self._cond.notify_all()

    def _on_disconnect(
        self, _c: object, _u: object, _f: object, reason: object, _p: object
    ) -> None:
        with self._cond:
            self.disconnect_reason = str(reason)
            self.disconnected.set()
            self._cond.notify_all()

    def _on_publish(self, _c: object, _u: object, mid: int, reason: ReasonCode, _p: object) -> None:
        with self._cond:
            self._acks[mid] = reason
            self._cond.notify_all()

    def _on_subscribe(
        self, _c: object, _u: object, mid: int, reasons: list[ReasonCode], _p: object
    ) -> None:
        with self._cond:
            self._subacks[mid] = reasons
            self._cond.notify_all()

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append((msg.topic, msg.payload))
            self._cond.notify_all()

    def publish(self, topic: str, payload: bytes = b"x", *, retain: bool = False) -> ReasonCode:
        """Publish at QoS 1 and return the PUBACK's reason code."""
        mid = self.client.publish(topic, payload, qos=1, retain=retain).mid
        self._wait(lambda: mid in self._acks, f"PUBACK for {topic}")
        return self._acks[mid]

    def subscribe(self, topic: str) -> ReasonCode:
        _, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None
        self._wait(lambda: mid in self._subacks, f"SUBACK for {topic}")
        return self._subacks[mid][0]

    def wait_for(self, topic: str, payload: bytes, timeout_s: float = 10.0) -> None:
        self._wait(lambda: (topic, payload) in self.messages, f"{topic} {payload!r}", timeout_s)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def connect_answer(settings: MqttSettings, client_id: str) -> str:
    """The CONNACK reason for one login, or the error that ended the connection attempt."""
    try:
        peer = Peer(settings, client_id)
    except OSError as exc:  # ssl.SSLError included: refused during the handshake
        return f"refused: {type(exc).__name__}: {exc}"
    reason = peer.connect_reason or f"closed before CONNACK: {peer.disconnect_reason}"
    peer.close()
    return reason


def wait_until(done: object, timeout_s: float = 10.0) -> bool:
    assert callable(done)
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
