"""MQTT ingest: validate, normalize, deduplicate, write in batches, acknowledge after commit."""

from __future__ import annotations

import base64
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import BaseModel, ConfigDict, Field

from campusedge.contract import MAX_PAYLOAD_BYTES, EnvelopeError, EventMessage, Status
from campusedge.envelope import parse_message
from campusedge.settings import MqttSettings
from campusedge.topics import (
    DeviceTopic,
    TopicError,
    dead_letter_topic,
    device_subscriptions,
    school_of,
)
from gateway.devices import Devices
from gateway.metrics import GatewayMetrics
from gateway.store.base import DeadLetter, Store, StoredMessage

log = logging.getLogger(__name__)


class IngestSettings(BaseModel):
    """How the gateway subscribes and batches; defaults suit one campus on a small edge box."""

    model_config = ConfigDict(extra="forbid")

    school: str = Field(default="+", description="school id to ingest, '+' for all")
    client_id: str = "campusedge-gateway"
    protocol: Literal["5", "3.1.1"] = "5"
    batch_max: int = Field(default=1000, ge=1, le=10_000)
    batch_wait_ms: int = Field(default=20, ge=0, le=5_000)
    # Bounded hand-over between the MQTT thread and the writer. When it is full the MQTT
    # thread blocks, the broker stops sending (TCP back-pressure and the inflight window) and
    # keeps the rest queued in our persistent session: nothing is dropped.
    queue_max: int = Field(default=20_000, ge=10)
    receive_maximum: int = Field(default=1000, ge=1, le=65535)
    session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    future_tolerance_s: float = Field(default=300.0, ge=0)
    max_payload_bytes: int = Field(default=MAX_PAYLOAD_BYTES, ge=256)


@dataclass(frozen=True, slots=True)
class Inbound:
    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: float  # time.time() when paho handed it over


@dataclass
class CommittedBatch:
    """What one commit made durable; handed to listeners (alerts, fitness, live views)."""

    messages: list[StoredMessage] = field(default_factory=list)
    statuses: list[tuple[str, Status]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


Listener = Callable[[CommittedBatch], None]


def to_stored(topic: DeviceTopic, msg: Any, received_at: datetime) -> StoredMessage:
    event = msg.event if isinstance(msg, EventMessage) else None
    readings = event.readings if event is not None else msg.readings
    return StoredMessage(
        school=topic.school, kind=msg.kind, device_id=msg.device_id, seq=msg.seq, ts=msg.ts,
        time_quality=msg.time_quality, received_at=received_at,
        readings=tuple((r.metric.value, float(r.value), r.unit.value) for r in readings),
        event_type=event.type if event is not None else None,
        attributes=tuple(sorted(event.attributes.items())) if event is not None else (),
    )


def classify(item: Inbound, settings: IngestSettings) -> StoredMessage | DeadLetter | tuple[
        str, Status]:
    """Turn one inbound MQTT message into something to store, a status, or a dead letter."""
    received_at = datetime.fromtimestamp(item.received_at, UTC)
    try:
        topic = DeviceTopic.parse(item.topic)
        msg = parse_message(topic, item.payload, now=received_at,
                            future_tolerance=timedelta(seconds=settings.future_tolerance_s),
                            max_bytes=settings.max_payload_bytes)
    except TopicError as exc:
        return _dead(item, received_at, "bad_topic", str(exc))
    except EnvelopeError as exc:
        return _dead(item, received_at, exc.reason, exc.detail)
    if isinstance(msg, Status):
        return (topic.school, msg)
    return to_stored(topic, msg, received_at)


def _dead(item: Inbound, received_at: datetime, reason: str, detail: str) -> DeadLetter:
    return DeadLetter(school=school_of(item.topic), topic=item.topic, reason=reason,
                      detail=detail, payload=item.payload, received_at=received_at)


def dead_letter_payload(letter: DeadLetter) -> bytes:
    """What is republished on the dead-letter topic: the reason and the original bytes."""
    return json.dumps({
        "reason": letter.reason, "detail": letter.detail, "topic": letter.topic,
        "received_at": letter.received_at.isoformat(),
        "payload_b64": base64.b64encode(letter.payload[:16384]).decode(),
        "payload_bytes": len(letter.payload),
    }).encode()


class Ingest:
    """Subscribes with a persistent session at QoS 1 and writes through one writer thread.

    A message is acknowledged (PUBACK) only after the batch holding it is committed, so a
    crash before the commit makes the broker redeliver it, and the store's idempotency on
    (device_id, seq) absorbs a redelivery after the commit.
    """

    def __init__(self, mqtt_settings: MqttSettings, store: Store, devices: Devices,
                 metrics: GatewayMetrics, settings: IngestSettings | None = None) -> None:
        self.mqtt_settings = mqtt_settings
        self.settings = settings or IngestSettings()
        self.store = store
        self.devices = devices
        self.metrics = metrics
        self.listeners: list[Listener] = []
        self._queue: queue.Queue[Inbound] = queue.Queue(maxsize=self.settings.queue_max)
        self._stop = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="ingest-writer",
                                        daemon=True)
        self._client = self._make_client()
        self.connected = threading.Event()
        self.last_commit: float | None = None
        self.stats = {"stored": 0, "duplicates": 0, "dead_lettered": 0, "statuses": 0}

    # --- MQTT side ------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        s = self.settings
        v5 = s.protocol == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=s.client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False, manual_ack=True,
        )
        if self.mqtt_settings.username:
            password = self.mqtt_settings.password
            client.username_pw_set(self.mqtt_settings.username,
                                   password.get_secret_value() if password else None)
        if self.mqtt_settings.tls_ca:
            client.tls_set(ca_certs=self.mqtt_settings.tls_ca)
        client.max_inflight_messages_set(1000)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        return client

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: Any, reason: Any,
                    properties: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        filters = device_subscriptions(self.settings.school)
        client.subscribe([(f, 1) for f in filters])
        self.metrics.connected.set(1)
        self.connected.set()
        log.info("connected to %s:%s (session present: %s); subscribed to %s",
                 self.mqtt_settings.host, self.mqtt_settings.port, flags.session_present,
                 ", ".join(filters))

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: Any, reason: Any,
                       properties: Any) -> None:
        self.metrics.connected.set(0)
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("disconnected from the broker (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        # Kept minimal: this runs on paho's network thread for every message; counting and
        # time conversion happen per batch on the writer thread.
        # Blocks when the writer is behind: back-pressure instead of an unbounded buffer.
        self._queue.put(Inbound(msg.topic, bytes(msg.payload), msg.mid, msg.qos, time.time()))

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._writer.start()
        props = None
        if self.settings.protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = self.settings.session_expiry_s
            props.ReceiveMaximum = self.settings.receive_maximum
        self._client.connect_async(self.mqtt_settings.host, self.mqtt_settings.port,
                                   keepalive=self.mqtt_settings.keepalive_s,
                                   clean_start=False if props is not None else
                                   mqtt.MQTT_CLEAN_START_FIRST_ONLY, properties=props)
        self._client.loop_start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Commit and acknowledge what was received, then disconnect."""
        deadline = time.monotonic() + timeout_s
        while not self._queue.empty() and time.monotonic() < deadline:
            time.sleep(0.01)
        self._stop.set()
        self._writer.join(timeout=max(0.1, deadline - time.monotonic()))
        self._client.disconnect()
        self._client.loop_stop()

    def writer_alive(self) -> bool:
        return self._writer.is_alive()

    def healthy(self) -> bool:
        return self.connected.is_set() and self._writer.is_alive()

    # --- writer side ----------------------------------------------------------------------
    def _next_batch(self) -> list[Inbound]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.settings.batch_wait_ms / 1000
        while len(batch) < self.settings.batch_max:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self._queue.get(timeout=remaining) if remaining > 0
                             else self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write_loop(self) -> None:
        while not (self._stop.is_set() and self._queue.empty()):
            batch = self._next_batch()
            if batch:
                self._commit_with_retry(batch)
                self.metrics.queue_depth.set(self._queue.qsize())

    def _commit_with_retry(self, batch: list[Inbound]) -> None:
        delay = 0.1
        while True:
            try:
                committed = self._commit(batch)
                break
            except Exception:  # any store failure: keep the batch, unacked, and retry
                self.metrics.store_errors.inc()
                log.exception("committing a batch of %d failed; retrying in %.1f s",
                              len(batch), delay)
                if self._stop.wait(delay):
                    return  # unacked: the broker redelivers after restart
                delay = min(delay * 2, 10.0)
        for item in batch:
            if item.qos > 0:
                self._client.ack(item.mid, item.qos)
        for listener in self.listeners:
            try:
                listener(committed)
            except Exception:  # a listener's bug must not stop ingest
                log.exception("listener %r failed on a committed batch", listener)

    def _commit(self, batch: Sequence[Inbound]) -> CommittedBatch:
        out = CommittedBatch()
        for item in batch:
            result = classify(item, self.settings)
            if isinstance(result, StoredMessage):
                out.messages.append(result)
            elif isinstance(result, DeadLetter):
                out.dead_letters.append(result)
            else:
                out.statuses.append(result)
        started = time.perf_counter()
        written = self.store.write(out.messages) if out.messages else None
        if out.dead_letters:
            self.store.write_dead_letters(out.dead_letters)
        seen: dict[tuple[str, str, str], tuple[datetime, int]] = {}
        for m in out.messages:
            key = (m.school, m.device_id, m.kind.value)
            last, count = seen.get(key, (m.received_at, 0))
            seen[key] = (max(last, m.received_at), count + 1)
        self.devices.apply(
            [(school, status, datetime.now(UTC)) for school, status in out.statuses],
            [(school, dev, kind, at, n) for (school, dev, kind), (at, n) in seen.items()])
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        self.metrics.batch_size.observe(len(batch))
        self.last_commit = time.monotonic()
        self._account(batch, out, written.inserted if written else 0,
                      written.duplicates if written else 0, seen)
        for letter in out.dead_letters:
            log.warning("dead-lettered a message on %s: %s (%s)", letter.topic, letter.reason,
                        letter.detail)
            self._client.publish(dead_letter_topic(letter.school or "unknown"),
                                 dead_letter_payload(letter), qos=1)
        return out

    def _account(self, batch: Sequence[Inbound], out: CommittedBatch, inserted: int,
                 duplicates: int, seen: dict[tuple[str, str, str], tuple[datetime, int]]) -> None:
        m = self.metrics
        channels: dict[str, int] = {}
        for item in batch:
            channel = item.topic.rsplit("/", 1)[-1]
            channel = channel if channel in ("reading", "event", "status") else "other"
            channels[channel] = channels.get(channel, 0) + 1
        for channel, count in channels.items():
            m.received.labels(channel=channel).inc(count)
        m.stored.inc(inserted)
        m.duplicates.inc(duplicates)
        self.stats["stored"] += inserted
        self.stats["duplicates"] += duplicates
        self.stats["dead_lettered"] += len(out.dead_letters)
        self.stats["statuses"] += len(out.statuses)
        for letter in out.dead_letters:
            m.dead_letters.labels(reason=letter.reason).inc()
            device = letter.topic.split("/")[3] if letter.topic.count("/") >= 4 else "unknown"
            m.device_dead_letters.labels(device_id=device[:64]).inc()
        for (_, device_id, kind), (at, count) in seen.items():
            m.device_last_seen.labels(device_id=device_id, kind=kind).set(at.timestamp())
            m.device_messages.labels(device_id=device_id, kind=kind).inc(count)
