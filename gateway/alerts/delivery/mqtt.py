"""Alerts on `campus/{school}/alert/{severity}/{rule}` for local displays (QoS 1)."""

from __future__ import annotations

import json
import logging
import threading
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from campusedge.mqtt_client import make_client
from campusedge.settings import MqttSettings
from campusedge.topics import alert_topic
from gateway.alerts.config import AlertConfigs
from gateway.alerts.delivery.log import DeliveryLog
from gateway.alerts.notification import Notification, notification_payload

log = logging.getLogger(__name__)
# paho's log levels (MQTT_LOG_*) as the logging module's.
_LEVELS = {int(k): v for k, v in mqtt.LOGGING_LEVEL.items()}


class MqttAlertPublisher:
    """Publishes each notification once; paho queues while the broker is away."""

    def __init__(
        self,
        settings: MqttSettings,
        configs: AlertConfigs,
        client_id: str = "campusedge-alerts",
        delivery_log: DeliveryLog | None = None,
    ) -> None:
        self.configs = configs
        # The broker's PUBACK of each notification goes in the delivery log (`delivered`), so
        # campus IT sees the displays' feed next to the webhooks. A PUBACK may come before
        # `publish` has returned the message id: it then waits in `_early` for `send`.
        self.log = delivery_log
        self._pending: dict[int, tuple[str, str, list[int]]] = {}
        self._early: set[int] = set()
        self._lock = threading.Lock()
        # The publisher keeps no session (it subscribes to nothing; paho resends its unacked
        # QoS 1 messages itself), so its id only has to be unique: a fixed one would make two
        # gateways on one broker throw each other off, again and again.
        self.client_id = f"{client_id}-{uuid.uuid4().hex[:8]}"
        self._client = make_client(settings, self.client_id, persistent=False)
        # paho's own messages go through `_on_log` into our log, timestamped, not bare on
        # stderr; its "not connected" error, repeated at every retry, is said once an outage.
        self._unreachable_said = False
        self._client.on_log = self._on_log
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._settings = settings
        self._started = False

    def _on_log(self, client: mqtt.Client, userdata: object, level: int, buf: str) -> None:
        if buf.startswith("Client is not connected."):
            # paho (2.2, client.py `_loop`) says this, with a stray ")" after the socket, on
            # every reconnection attempt while the broker is down: once in our words instead.
            state = buf.rsplit(":", 1)[-1].strip()
            if self._unreachable_said or not self._started:
                log.debug("alert publisher %s: still not connected (%s)", self.client_id, state)
                return
            self._unreachable_said = True
            log.warning(
                "alert publisher %s: not connected to the MQTT broker %s:%s (paho's "
                "connection state: %s); notifications wait while paho retries",
                self.client_id,
                self._settings.host,
                self._settings.port,
                state,
            )
            return
        log.log(_LEVELS.get(level, logging.DEBUG), "paho: %s", buf)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: object,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        if reason.is_failure:
            log.warning(
                "alert publisher %s: the MQTT broker refused the connection: %s",
                self.client_id,
                reason,
            )
            return
        if self._unreachable_said:
            log.warning("alert publisher %s: connected to the MQTT broker again", self.client_id)
        self._unreachable_said = False

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: object,
        reason: object,
        properties: object,
    ) -> None:
        if self._started:
            log.warning(
                "alert publisher %s disconnected (%s); paho reconnects and resends",
                self.client_id,
                reason,
            )

    def start(self) -> None:
        """Connect in the background; notifications published before that are queued."""
        s = self._settings
        self._client.connect_async(s.host, s.port, keepalive=s.keepalive_s)
        self._client.loop_start()
        self._started = True

    def send(self, n: Notification) -> None:
        if not self.configs.for_school(n.school).delivery.mqtt:
            return
        topic = alert_topic(n.school, n.severity.value, n.rule.value)
        info = self._client.publish(topic, json.dumps(notification_payload(n)).encode(), qos=1)
        entry = (n.id, str(topic), [a.id for a in n.alerts])
        with self._lock:
            acked = info.mid in self._early
            if acked:
                self._early.discard(info.mid)
            else:
                self._pending[info.mid] = entry
        if acked:
            self._delivered(entry)

    def _on_publish(
        self, client: mqtt.Client, userdata: object, mid: int, reason: object, properties: object
    ) -> None:
        with self._lock:
            entry = self._pending.pop(mid, None)
            if entry is None:
                self._early.add(mid)
                return
        self._delivered(entry)

    def _delivered(self, entry: tuple[str, str, list[int]]) -> None:
        if self.log is None:
            return
        notification_id, topic, alert_ids = entry
        try:
            self.log.record(notification_id, "mqtt", topic, 1, "delivered", alert_ids)
        except Exception:  # a full disk must not kill paho's network thread
            log.exception("could not log the MQTT delivery of notification %s", notification_id)

    def close(self) -> None:
        if self._started:
            self._started = False  # first: this disconnect is not worth a warning
            self._client.disconnect()
            self._client.loop_stop()
