"""The edge agent's MQTT connection: paho 2.x, QoS 1, persistent session, reconnect loop.

paho's network thread only puts what happened (connected, PUBACK mids, commands) into
queues; the agent's main loop reads them, so buffer and counters have a single owner.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from campusedge.settings import MqttSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Command:
    topic: str
    payload: bytes


class MqttLink:
    """One client session; `acks` holds PUBACKed message ids, `commands` incoming commands."""

    def __init__(self, settings: MqttSettings, client_id: str, will_topic: str,
                 will_payload: bytes, subscriptions: list[str], max_inflight: int) -> None:
        self.acks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self.connected = threading.Event()
        self.connects = 0
        self.last_error: str | None = None
        self._subscriptions = subscriptions
        self._settings = settings
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                             clean_session=False, protocol=mqtt.MQTTv311)
        if settings.username is not None:
            password = settings.password.get_secret_value() if settings.password else None
            client.username_pw_set(settings.username, password)
        if settings.tls_ca:
            client.tls_set(ca_certs=settings.tls_ca)
        client.will_set(will_topic, will_payload, qos=1, retain=True)
        client.max_inflight_messages_set(max_inflight)
        # Queue without limit inside paho: the agent never publishes while disconnected, so
        # only messages in flight at a disconnect wait there for paho to resend them.
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        self._client = client

    def start(self) -> None:
        self._client.connect_async(self._settings.host, self._settings.port,
                                   keepalive=self._settings.keepalive_s)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> int:
        """Publish at QoS 1; the message id whose PUBACK will appear in `acks`."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        return int(info.mid)

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: mqtt.ConnectFlags,
                    reason: ReasonCode, properties: object) -> None:
        if reason.is_failure:
            self.last_error = f"broker refused the connection: {reason}"
            log.error("%s (check the MQTT username and password)", self.last_error)
            return
        for topic in self._subscriptions:
            client.subscribe(topic, qos=1)
        self.connects += 1
        self.connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: object,
                       flags: mqtt.DisconnectFlags, reason: ReasonCode,
                       properties: object) -> None:
        self.connected.clear()
        if reason.is_failure:
            self.last_error = f"disconnected: {reason}"
            log.warning("%s; buffering until the broker is back", self.last_error)

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int, reason: ReasonCode,
                    properties: object) -> None:
        self.acks.put(mid)

    def _on_message(self, client: mqtt.Client, userdata: object,
                    message: mqtt.MQTTMessage) -> None:
        self.commands.put(Command(message.topic, bytes(message.payload)))
