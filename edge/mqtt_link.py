"""The edge agent's MQTT connection: paho 2.x, QoS 1, persistent session, reconnect loop.

paho's network thread only puts what happened (connected, PUBACK mids, commands) into
queues; the agent's main loop reads them, so buffer and counters have a single owner.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from campusedge.mqtt_client import make_client
from campusedge.settings import MqttSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Command:
    topic: str
    payload: bytes


class MqttLink:
    """One client session; `acks` holds PUBACKed message ids, `commands` incoming commands."""

    def __init__(
        self,
        settings: MqttSettings,
        client_id: str,
        will_topic: str,
        will_payload: bytes,
        subscriptions: list[str],
        max_inflight: int,
    ) -> None:
        self.acks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self.connected = threading.Event()
        self.connects = 0
        self.published = 0  # publishes handed to paho (from the agent's thread only)
        self.last_error: str | None = None  # why the broker is not reachable now, if it is not
        self._reported: str | None = None  # the failure last logged, so a retry loop logs once
        self._subscriptions = subscriptions
        self._settings = settings
        # A box retries quickly: its buffer fills while it is away.
        client = make_client(settings, client_id, persistent=True, reconnect_max_s=5)
        client.will_set(will_topic, will_payload, qos=1, retain=True)
        client.max_inflight_messages_set(max_inflight)
        # Queue without limit inside paho: the agent never publishes while disconnected, so
        # only messages in flight at a disconnect wait there for paho to resend them.
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        self._client = client

    def start(self) -> None:
        self._client.connect_async(
            self._settings.host, self._settings.port, keepalive=self._settings.keepalive_s
        )
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> int:
        """Publish at QoS 1; the message id whose PUBACK will appear in `acks`."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        self.published += 1
        return int(info.mid)

    @property
    def address(self) -> str:
        return f"{self._settings.host}:{self._settings.port}"

    def _failed(self, why: str, hint: str = "") -> None:
        """Note why the broker cannot be reached; logged once per distinct reason."""
        self.last_error = why
        if why != self._reported:
            self._reported = why
            log.warning("MQTT broker %s: %s%s; buffering and retrying", self.address, why, hint)

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        # paho calls this from inside its `except OSError` around the connect and passes no
        # reason, so the exception being handled is the one that says what went wrong.
        exc = sys.exc_info()[1]
        self._failed(f"cannot connect: {exc}" if exc is not None else "cannot connect")

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        if reason.is_failure:
            self._failed(
                f"refused the connection: {reason}", " (check the MQTT username and password)"
            )
            return
        if self._reported is not None:
            # At the warning's level: a log kept at WARNING shows when the outage ended.
            log.warning("MQTT broker %s: connected again", self.address)
        self._reported = None
        self.last_error = None
        for topic in self._subscriptions:
            client.subscribe(topic, qos=1)
        self.connects += 1
        self.connected.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        was_connected = self.connected.is_set()
        self.connected.clear()
        # A refused login also ends in a disconnect; its reason was logged by _on_connect.
        if reason.is_failure and was_connected:
            self._failed(f"disconnected: {reason}")

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        self.acks.put(mid)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self.commands.put(Command(message.topic, bytes(message.payload)))
