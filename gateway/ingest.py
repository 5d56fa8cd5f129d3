"""MQTT ingest: validate, normalize, deduplicate, write in batches, acknowledge after commit."""

from __future__ import annotations

import base64
import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from campusedge.contract import (
    MAX_PAYLOAD_BYTES,
    EnvelopeError,
    EventMessage,
    ReadingMessage,
    Status,
)
from campusedge.envelope import parse_message
from campusedge.settings import MqttSettings
from campusedge.topics import (
    DeviceTopic,
    TopicError,
    dead_letter_topic,
    school_of,
    short_topic,
)
from campusedge.units import METRICS, UnitError, VendorMetric, normalize
from gateway.binding import Binder
from gateway.dead_letter_memory import DeadLetterMemory
from gateway.devices import Devices
from gateway.enrolled_devices import EnrolledDevices
from gateway.fleet.enrolment import UNKNOWN_DEVICE_REASON, Enrolment
from gateway.ingest_mqtt import Drain, Drained, Hold, MqttSideProcess
from gateway.metrics import GatewayMetrics
from gateway.store.base import DeadLetter, Store, StoredMessage, built
from gateway.store.commit_log import CommitLog
from gateway.store_failure import DISK_FULL, STATE_DB_UNREACHABLE, failure_reason
from gateway.watermarks import StoredWatermarks

log = logging.getLogger(__name__)


HEALTH_REASONS = (
    "broker_unreachable",
    "writer_stopped",
    "store_failing",
    "disk_full",
    "state_db_unreachable",
    "commit_stalled",
    "mqtt_wedged",
)


class IngestSettings(BaseModel):
    """How the gateway subscribes and batches; defaults suit one campus on a small edge box."""

    model_config = ConfigDict(extra="forbid")

    school: str = Field(default="+", description="school id to ingest, '+' for all")
    client_id: str = "campusedge-gateway"
    # Set for a gateway worker (`gateway run --worker-id`): it subscribes to the schools it
    # holds a lease on, each in this MQTT 5 shared-subscription group, instead of `school`.
    share_group: str | None = None
    # 3.1.1 by default: in back-to-back bench runs MQTT 5 cost the gateway about 40 % of its
    # rate (paho parses MQTT 5 properties on every PUBLISH, in the process that sets the
    # pace). With 3.1.1 the broker's max_inflight_messages is the window: `campusedge broker
    # run` sets it to 0 (unlimited); on another broker raise it well above batch_max, or acks
    # after commit throttle ingest.
    protocol: Literal["5", "3.1.1"] = "3.1.1"
    # Under a backlog (a restart, a broker's replay) batches fill to this size. Readings of
    # interleaved devices land all over the key indexes (messages, readings, the commit log),
    # so a commit writes about one dirty page per device whatever the batch size: larger
    # batches write each page once for more rows. 5000 against 1000: in the store and log
    # alone ~30 against ~41 µs a message, and the ingest bench +12 % back to back.
    batch_max: int = Field(default=5000, ge=1, le=10_000)
    batch_wait_ms: int = Field(default=20, ge=0, le=5_000)
    # Messages the broker may send before we acknowledge (MQTT 5). Acks follow commits, so
    # the window must cover everything between the socket and the commit (the MQTT process's
    # open batch, the pipe, the parent's inbox of a few batches, the batch being committed)
    # or the broker waits on us: at 4000 the bench drained about 30 % slower than at 65535
    # in back-to-back runs; the MQTT 5 maximum leaves the most room. Memory does not grow
    # with it: the inbox is bounded, and when it is full the MQTT process blocks, paho
    # stops reading, and the rest waits in kernel socket buffers and the broker's session.
    # With MQTT 3.1.1 (no receive maximum) the same back-pressure is the bound on our side.
    receive_maximum: int = Field(default=65535, ge=1, le=65535)
    session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    future_tolerance_s: float = Field(default=300.0, ge=0)
    max_payload_bytes: int = Field(default=MAX_PAYLOAD_BYTES, ge=256)
    # Health: messages waiting this long with no commit make the gateway unhealthy (a store
    # that cannot write, a writer that stopped), and the MQTT process is restarted when it
    # makes no progress for this long (see MqttSideProcess.stalled).
    stall_after_s: float = Field(default=30.0, ge=1.0)


class Inbound(NamedTuple):
    """One message as ingest receives it. A named tuple: one is made for every message the
    MQTT process hands over, at a third of a frozen dataclass's cost."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: float  # time.time() when paho handed it over
    # Sent because it is retained (on a (re)subscription), not live from its publisher.
    retain: bool = False
    # Posted over HTTP (gateway.push): the body as the client sent it, which its dead letter
    # keeps rather than the envelope mapped from it. None for what came over MQTT.
    body: bytes | None = None


@dataclass
class CommittedBatch:
    """What one commit made durable (the alert engine takes its entries in this form too)."""

    messages: list[StoredMessage] = field(default_factory=list)
    statuses: list[tuple[str, Status]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    # Of `messages`, how many the store took new, and how many it had already.
    inserted: int = 0
    duplicates: int = 0


def to_stored(topic: DeviceTopic, msg: Any, received_at: datetime) -> StoredMessage:
    event = msg.event if isinstance(msg, EventMessage) else None
    readings = event.readings if event is not None else msg.readings
    return StoredMessage(
        school=topic.school,
        kind=msg.kind,
        device_id=msg.device_id,
        seq=msg.seq,
        ts=msg.ts,
        time_quality=msg.time_quality,
        received_at=received_at,
        readings=tuple((r.metric.value, float(r.value), r.unit.value) for r in readings),
        event_type=event.type if event is not None else None,
        attributes=tuple(sorted(event.attributes.items())) if event is not None else (),
    )


def classify(
    item: Inbound, settings: IngestSettings
) -> StoredMessage | DeadLetter | tuple[str, Status]:
    """Turn one inbound MQTT message into something to store, a status, or a dead letter."""
    received_at = datetime.fromtimestamp(item.received_at, UTC)
    try:
        topic = DeviceTopic.parse(item.topic)
        msg = parse_message(
            topic,
            item.payload,
            now=received_at,
            future_tolerance=timedelta(seconds=settings.future_tolerance_s),
            max_bytes=settings.max_payload_bytes,
        )
    except TopicError as exc:
        return _dead(item, received_at, "bad_topic", str(exc))
    except EnvelopeError as exc:
        return _dead(item, received_at, exc.reason, exc.detail)
    if isinstance(msg, Status):
        return (topic.school, msg)
    return to_stored(topic, msg, received_at)


_SPECS = {metric.value: spec for metric, spec in METRICS.items()}


@functools.lru_cache(maxsize=8)
def _tolerance(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def classify_fast(item: Inbound, settings: IngestSettings) -> StoredMessage | None:
    """The common case, cheaper: a valid reading in canonical or convertible units.

    Returns None for anything else (statuses, events, any doubt, any rejection); `classify`
    then decides, so every rejection keeps its exact reason. For what it accepts it makes the
    same checks as `parse_message` (size, schema, topic match, clock, unit and range) but
    builds the stored tuples directly instead of copying pydantic models.
    """
    topic_text = item.topic
    if not topic_text.endswith("/reading") or len(item.payload) > settings.max_payload_bytes:
        return None
    try:
        topic = DeviceTopic.parse(topic_text)
        msg = ReadingMessage.model_validate_json(item.payload)
    except (TopicError, ValidationError):
        return None
    if msg.device_id != topic.device_id or msg.kind is not topic.kind:
        return None
    received_at = datetime.fromtimestamp(item.received_at, UTC)
    if msg.ts > received_at + _tolerance(settings.future_tolerance_s):
        return None
    readings = []
    for r in msg.readings:
        if isinstance(r.metric, VendorMetric):
            return None  # a plug-in's vendor.metric: `classify` takes it
        # `_value_`, not `.value`: the enum's property and its Python-level __hash__ cost
        # more here, twice a reading, than the rest of this loop.
        metric = r.metric._value_
        spec = _SPECS[metric]
        value, unit = float(r.value), r.unit
        if unit is not spec.unit or not spec.minimum <= value <= spec.maximum:
            try:
                value, unit = normalize(r.metric, value, unit)
            except UnitError:
                return None
        readings.append((metric, value, unit._value_))
    return built(
        topic.school,
        msg.kind,
        msg.device_id,
        msg.seq,
        msg.ts,
        msg.time_quality,
        received_at,
        tuple(readings),
    )


def _dead(item: Inbound, received_at: datetime, reason: str, detail: str) -> DeadLetter:
    return DeadLetter(
        school=school_of(item.topic),
        topic=item.topic,
        reason=reason,
        detail=detail,
        payload=item.payload,
        received_at=received_at,
    )


# How long a post over HTTP waits for the commit in progress (a batch of the writer's, or
# another post) before it is answered 503.
PUSH_WAIT_S = 10.0


# The device label of dead letters from devices the gateway has not heard from: in brackets,
# which no device id may contain, so it never merges with a real device's series.
UNKNOWN_DEVICE = "(unknown)"


def _topic_device(topic: str) -> str | None:
    """The device id part of a device topic, None when *topic* has none."""
    parts = topic.split("/")
    return parts[3] if len(parts) >= 5 and parts[0] == "campus" else None


def dead_letter_payload(letter: DeadLetter) -> bytes:
    """What is republished on the dead-letter topic: the reason and the original bytes."""
    return json.dumps(
        {
            "reason": letter.reason,
            "detail": letter.detail,
            "topic": letter.topic,
            "received_at": letter.received_at.isoformat(),
            "payload_b64": base64.b64encode(letter.payload[:16384]).decode(),
            "payload_bytes": len(letter.payload),
        }
    ).encode()


class Ingest:
    """Subscribes with a persistent session at QoS 1 and writes through one writer thread.

    The MQTT client runs in a child process (`gateway.ingest_mqtt`) that hands over raw
    messages in batches; validation, binding, storage and accounting run here, in the
    gateway's process: validate → bind → store → log → ack. A message is acknowledged
    (PUBACK) only after the batch holding it is in the store and in the commit log, so a
    crash before makes the broker redeliver it, and the idempotency of both on (school,
    device_id, seq) absorbs a redelivery after. What follows a reading (alerts, fitness
    results, live lessons, the device registry) is done by consumers reading the commit log;
    ingest only wakes them (`on_commit`). If the child dies it is started again; acks for its
    messages are dropped, and the broker redelivers them.
    """

    def __init__(
        self,
        mqtt_settings: MqttSettings,
        store: Store,
        devices: Devices,
        metrics: GatewayMetrics,
        binder: Binder,
        commit_log: CommitLog,
        settings: IngestSettings | None = None,
        watermarks: StoredWatermarks | None = None,
        enrolment: Enrolment | None = None,
    ) -> None:
        self.mqtt_settings = mqtt_settings
        # Strict enrolment when set: only devices the fleet registry lists are admitted.
        self.enrolment = enrolment
        self.watermarks = watermarks
        self.settings = settings or IngestSettings()
        self.store = store
        self.devices = devices
        self.metrics = metrics
        self.binder = binder
        self.commit_log = commit_log
        # Called after each acknowledged commit (the consumers' wake-up); nothing else runs
        # on the writer thread after a commit.
        self.on_commit: list[Callable[[], None]] = []
        self._stop = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="ingest-writer", daemon=True)
        self._side: MqttSideProcess | None = None
        self._hold: Hold | None = None  # a worker's schools, given again to a new MQTT process
        # Drains asked for and not reported ended: sent again to a new MQTT process (a drain
        # ends with the process that ran it).
        self._draining: dict[str, Drain] = {}
        # Called (on the pipe's reader thread: keep it short) when a drain ends.
        self.on_drained: list[Callable[[Drained], None]] = []
        self._stop_by = float("inf")  # when stopping: stop taking batches after this
        self.connected = threading.Event()
        self.last_commit: float | None = None
        self.started_at = time.monotonic()
        self.last_connected_at: float | None = None
        self._in_hand = 0  # messages of the batch being committed (or retried)
        # Set while commits fail (the store unreachable, its disk full): since when, and why.
        self.store_failing_since: float | None = None
        self.store_error: str | None = None
        # The kind of failure (`disk_full`, `store_unreachable`, `state_db_unreachable`,
        # `store_write_failed`).
        self.store_failure: str | None = None
        # The watchdog's last restart of a wedged MQTT process: when, and why.
        self.wedged_at: float | None = None
        self.wedged_reason: str | None = None
        self._drops: list[float] = []  # monotonic times of recent disconnections
        self.stats = {
            "stored": 0,
            "duplicates": 0,
            "dead_lettered": 0,
            "statuses": 0,
            "stale_statuses": 0,
            "retained_dead_letter_repeats": 0,
            "retained_cleared": 0,
            "unknown_device": 0,
        }
        self._dead_memory = DeadLetterMemory()
        self._enrolled = EnrolledDevices(devices)
        self._batch_number = 0
        self._enrolment_checked_at = -1
        # One commit at a time: the writer's batches and HTTP pushes (`push`) share the store,
        # the commit log (one appender) and the accounting.
        self._commit_lock = threading.Lock()

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        # A restart must not dead-letter the retained bad messages it dead-lettered before.
        try:
            # Statuses only: the one retained channel, and a flood of bad readings from one
            # device cannot push them out of what is read back.
            self._dead_memory.seed(
                self.store.dead_letters(limit=self._dead_memory.max_topics, topic_suffix="/status")
            )
        except Exception:  # a store that cannot answer now must not stop ingest starting
            log.exception(
                "could not read the stored dead letters; bad retained messages are "
                "dead-lettered once more"
            )
        self._side = MqttSideProcess(
            self.mqtt_settings, self.settings, self._connection, self._hold, self._drained
        )
        self._resend_drains(self._side)
        self._writer.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Commit and acknowledge what was received, then disconnect."""
        self._stop_by = time.monotonic() + timeout_s / 2
        self._stop.set()
        if self._writer.ident is not None:  # a stop during start may come before it runs
            self._writer.join(timeout=timeout_s)
        if self._side is not None:
            self._side.stop(timeout_s)
        self.connected.clear()
        self.metrics.connected.set(0)

    def writer_alive(self) -> bool:
        return self._writer.is_alive()

    def healthy(self) -> bool:
        return not self.problems()

    def problems(self) -> dict[str, str]:
        """What keeps ingest from working now, by reason code; empty while it works.

        The codes: `broker_unreachable`, `writer_stopped`, `store_failing` (commits fail and
        are retried, nothing is acknowledged), `disk_full` (with `store_failing`, when the
        store's disk is full: space must be freed), `commit_stalled` (messages wait and nothing was
        committed for `stall_after_s`), `mqtt_wedged` (the watchdog restarted the MQTT process
        in the last `stall_after_s`, or it is not running).
        """
        now = time.monotonic()
        stall = self.settings.stall_after_s
        found: dict[str, str] = {}
        if not self.connected.is_set():
            found["broker_unreachable"] = (
                f"not connected to the MQTT broker {self.mqtt_settings.host}:"
                f"{self.mqtt_settings.port}"
            )
        if not self._writer.is_alive():
            found["writer_stopped"] = "the ingest writer thread is not running"
        if self.store_failing_since is not None:
            found["store_failing"] = (
                f"writes to the store have failed for {now - self.store_failing_since:.0f} s "
                f"({self.store_error}); nothing is acknowledged until they succeed"
            )
            if self.store_failure == DISK_FULL:
                found["disk_full"] = (
                    "the store's disk is full: free space there; ingest resumes by itself, and "
                    "the broker keeps the messages until then"
                )
            if self.store_failure == STATE_DB_UNREACHABLE:
                found["state_db_unreachable"] = (
                    "the state database (PostgreSQL) cannot be reached, and a commit needs it "
                    "(binding, enrolment): ingest resumes by itself when it is back, and the "
                    "broker keeps the messages until then"
                )
        side = self._side
        waiting = self.waiting()
        last = self.last_commit if self.last_commit is not None else self.started_at
        if waiting > 0 and now - last > stall:
            found["commit_stalled"] = (
                f"{waiting} message(s) wait and nothing was committed for {now - last:.0f} s"
            )
        if self.wedged_at is not None and now - self.wedged_at < stall:
            found["mqtt_wedged"] = (
                f"the MQTT process was restarted {now - self.wedged_at:.0f} s ago: "
                f"{self.wedged_reason}"
            )
        elif side is not None and not side.alive() and not self._stop.is_set():
            found["mqtt_wedged"] = "the MQTT process is not running; it is being restarted"
        for reason in HEALTH_REASONS:
            self.metrics.health_problem.labels(reason=reason).set(1 if reason in found else 0)
        return found

    def hold(self, schools: frozenset[str], others: frozenset[str] = frozenset()) -> None:
        """A worker's schools changed: subscribe to *schools*, leave *others*."""
        self._hold = Hold(schools, others)
        side = self._side
        if side is not None:
            side.command(self._hold)

    def drain(self, client_id: str, schools: frozenset[str]) -> None:
        """Empty a dead worker's MQTT session (*client_id*) into this ingest."""
        command = Drain(client_id, schools)
        self._draining[client_id] = command
        side = self._side
        if side is not None:  # else sent when it starts
            side.command(command)

    def _drained(self, message: Drained) -> None:
        self._draining.pop(message.client_id, None)
        for callback in self.on_drained:
            callback(message)

    def _resend_drains(self, side: MqttSideProcess) -> None:
        for command in list(self._draining.values()):
            side.command(command)

    def publish_command(self, topic: str, payload: bytes) -> bool:
        """Publish a command to an edge box through the MQTT process, at QoS 1 and not
        retained (a rope test started now, not whenever a box next connects); False when
        the gateway is not connected to the broker or its send queue is full."""
        side = self._side
        if side is None or not self.connected.is_set():
            return False
        return side.publish(topic, payload)

    def waiting(self) -> int:
        """Messages received from the broker and not yet committed."""
        side = self._side
        return self._in_hand + (side.waiting() if side is not None else 0)

    @property
    def mqtt_pid(self) -> int | None:
        """The MQTT child process's id (for monitoring and tests)."""
        return self._side.pid if self._side is not None else None

    # --- writer side ----------------------------------------------------------------------
    def _next_batch(self, side: MqttSideProcess) -> tuple[int, list[Inbound]]:
        """Messages of one connection, up to batch_max; raises EOFError if the child died."""
        gen, batch = -1, list[Inbound]()
        wait = 0.2
        while len(batch) < self.settings.batch_max:
            message = side.receive(wait)
            if message is None:
                break
            wait = 0.0  # take what is already there, but do not wait for more
            if batch and message.gen != gen:
                # Another connection's: its own commit and acks. Commit what we have first.
                self._commit_with_retry(side, gen, batch)
                batch = []
            gen = message.gen
            batch.extend(Inbound(*raw) for raw in message.messages)
        return gen, batch

    def _connection(self, up: bool, detail: str) -> None:
        """Connection news from the MQTT process (called on its pipe-reader thread)."""
        if up:
            self.last_connected_at = time.monotonic()
            self.connected.set()
            self.metrics.connected.set(1)
            log.info(
                "connected to %s:%s (%s)", self.mqtt_settings.host, self.mqtt_settings.port, detail
            )
            return
        self.connected.clear()
        self.metrics.connected.set(0)
        if self._stop.is_set():
            return
        now = time.monotonic()
        self._drops = [t for t in self._drops if now - t < 60.0] + [now]
        hint = ""
        if len(self._drops) >= 3:
            # The usual cause of a connection dropped again and again: another client with
            # the same id (a second gateway) takes the session over each time it reconnects.
            hint = (
                f" ({len(self._drops)} drops in a minute: is another client using the "
                f"client id {self.settings.client_id!r}? Each gateway needs its own "
                "--client-id)"
            )
        log.warning("%s; reconnecting%s", detail, hint)

    def _write_loop(self) -> None:
        delay = 1.0
        while True:
            side = self._side
            assert side is not None
            try:
                while True:
                    gen, batch = self._next_batch(side)
                    if batch:
                        self._commit_with_retry(side, gen, batch)
                        delay = 1.0
                    self.metrics.queue_depth.set(side.waiting())
                    self._publish_watermarks(side, committed=[])
                    if self._stop.is_set() and (not batch or time.monotonic() > self._stop_by):
                        return
                    self._watch(side)
            except EOFError:
                pass
            # The child died (killed, crashed): nothing of it is acknowledged any more.
            if self._stop.is_set():
                return
            log.error(
                "the MQTT process exited (code %s); starting it again in %.0f s",
                side.exitcode,
                delay,
            )
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, 30.0)
            self._side = MqttSideProcess(
                self.mqtt_settings, self.settings, self._connection, self._hold, self._drained
            )
            self._resend_drains(self._side)

    def _publish_watermarks(self, side: MqttSideProcess, committed: list[StoredMessage]) -> None:
        """Tell edge boxes what of theirs is stored now (at most once a second per box)."""
        if self.watermarks is None:
            return
        try:
            self.watermarks.observe(committed)
            due = self.watermarks.due(self.devices.edge_boxes, self.devices.edge_box_ids)
            for topic, payload in due:
                side.publish(topic, payload, retain=True)
        except Exception:  # boxes then keep their copies longer; ingest goes on
            log.exception("could not update the stored watermarks")

    def _watch(self, side: MqttSideProcess) -> None:
        """Restart the MQTT process if it stopped making progress (the watchdog)."""
        why = side.stalled(self.settings.stall_after_s)
        if why is None:
            return
        self.wedged_at = time.monotonic()
        self.wedged_reason = why
        self.metrics.mqtt_side_restarts.inc()
        log.error(
            "the MQTT process (pid %s) is making no progress: %s; restarting it (what it held "
            "unacknowledged the broker sends again)",
            side.pid,
            why,
        )
        side.kill()  # the next receive() raises EOFError and the write loop starts a new one

    def _commit_with_retry(self, side: MqttSideProcess, gen: int, batch: list[Inbound]) -> None:
        delay = 0.1
        self._in_hand = len(batch)
        while True:
            try:
                with self._commit_lock:
                    committed = self._commit(side, batch)
                self._store_writes_again()
                break
            except Exception as exc:  # any store failure: keep the batch, unacked, and retry
                self.metrics.store_errors.inc()
                if self.store_failing_since is None:
                    self.store_failing_since = time.monotonic()
                self.store_error = f"{type(exc).__name__}: {exc}"[:300]
                self.store_failure = failure_reason(exc)
                log.exception(
                    "committing a batch of %d failed (%s); nothing is acknowledged, the broker "
                    "keeps the messages; retrying in %.1f s",
                    len(batch),
                    self.store_failure,
                    delay,
                )
                if self._stop.wait(delay) or not side.alive():
                    # Unacked, and no longer ours to ack: the broker redelivers the batch
                    # after a restart, or to the next MQTT process.
                    self._in_hand = 0
                    return
                # A PostgreSQL that comes back is used within 2 s (trying it costs a refused
                # connection); a failing store is given longer.
                delay = min(delay * 2, 2.0 if self.store_failure == STATE_DB_UNREACHABLE else 10.0)
        self._in_hand = 0
        side.ack(gen, [item.mid for item in batch if item.qos == 1])
        for wake in self.on_commit:
            try:
                wake()
            except Exception:  # waking is best effort: consumers also look every second
                log.exception("waking %r after a commit failed", wake)
        # After the wake: once a second this reads the boxes of the batch's devices, which
        # the consumers (alerts, live boards) need not wait for.
        self._publish_watermarks(side, committed.messages)

    def _store_writes_again(self) -> None:
        if self.store_failing_since is not None:
            log.warning(
                "the store takes writes again after %.0f s (%s)",
                time.monotonic() - self.store_failing_since,
                self.store_failure,
            )
        self.store_failing_since = None
        self.store_error = None
        self.store_failure = None

    def push(self, entry: Inbound | DeadLetter) -> CommittedBatch:
        """Commit one message posted over HTTP (gateway.push) now, on the caller's thread.

        The same path as the writer's batches: classify, bind, store, log, account, wake the
        consumers; *entry* is a dead letter already when its body could not be mapped. Returns
        only once it is durable (the HTTP answer is the acknowledgement); a store that fails
        raises, and nothing is answered as stored. No enrolment check: the device's push token
        is its enrolment.
        """
        batch, ready = ([entry], []) if isinstance(entry, Inbound) else ([], [entry])
        # Bounded: behind a store that hangs, each waiting post holds one of the API's worker
        # threads; past this the client hears "later" and the thread is free again.
        if not self._commit_lock.acquire(timeout=PUSH_WAIT_S):
            raise TimeoutError(f"no commit could start within {PUSH_WAIT_S:.0f} s")
        try:
            out = self._commit(self._side, batch, ready)
        except Exception:
            self.metrics.store_errors.inc()
            raise
        finally:
            self._commit_lock.release()
        for wake in self.on_commit:
            try:
                wake()
            except Exception:  # waking is best effort: consumers also look every second
                log.exception("waking %r after a commit failed", wake)
        return out

    def _commit(
        self,
        side: MqttSideProcess | None,
        batch: Sequence[Inbound],
        ready: Sequence[DeadLetter] = (),
    ) -> CommittedBatch:
        out = CommittedBatch(dead_letters=list(ready))
        self._batch_number += 1
        if self.enrolment is not None:
            self.enrolment.refresh()
        settings = self.settings
        cleared: list[str] = []
        repeats: list[DeadLetter] = []
        for item in batch:
            if not item.payload and item.topic.endswith("/status"):
                # An empty payload is how a retained message is cleared (`mosquitto_pub -r -n`):
                # the broker passes the clearing on to subscribers; it is no device message.
                # Only a status is retained; an empty reading or event is a bad message (the
                # parser dead-letters it as not JSON).
                cleared.append(item.topic)
                continue
            try:
                result = classify_fast(item, settings) or classify(item, settings)
            except Exception as exc:
                # A parser bug on one message must not become a "store failure" that holds
                # the batch, unacknowledged, for ever: dead-letter it and go on.
                log.exception("classifying a message on %s failed", short_topic(item.topic))
                result = _dead(
                    item,
                    datetime.fromtimestamp(item.received_at, UTC),
                    "internal_error",
                    f"{type(exc).__name__}: {exc}",
                )
            if isinstance(result, DeadLetter) and item.body is not None:
                result = replace(result, payload=item.body)
            elif (
                self.enrolment is not None
                and item.body is None
                and not isinstance(result, DeadLetter)
            ):
                result = self._admitted(item, result)
            if isinstance(result, StoredMessage):
                out.messages.append(result)
            elif isinstance(result, DeadLetter):
                if self._dead_memory.is_repeat(result, item.retain):
                    repeats.append(result)
                else:
                    out.dead_letters.append(result)
            else:
                out.statuses.append(result)
        started = time.perf_counter()
        out.messages = self.binder.bind_messages(out.messages)
        written = self.store.write(out.messages) if out.messages else None
        if out.dead_letters:
            self.store.write_dead_letters(out.dead_letters)
        out.statuses = self._fresh(out.statuses)
        # Every message of the batch, duplicates of the store included: the log keeps each
        # key once, and takes here what a crash kept out of it after the store had it.
        self.commit_log.append(out.messages, out.statuses, out.dead_letters)
        seen: dict[tuple[str, str, str], tuple[datetime, int]] = {}
        for m in out.messages:
            key = (m.school, m.device_id, m.kind.value)
            last, count = seen.get(key, (m.received_at, 0))
            seen[key] = (max(last, m.received_at), count + 1)
        out.inserted = written.inserted if written else 0
        out.duplicates = written.duplicates if written else 0
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        self.metrics.batch_size.observe(len(batch))
        self.last_commit = time.monotonic()
        self._account(
            batch,
            out,
            written.inserted if written else 0,
            written.duplicates if written else 0,
            seen,
        )
        self.stats["retained_dead_letter_repeats"] += len(repeats)
        self.stats["retained_cleared"] += len(cleared)
        for topic in cleared:
            log.info(
                "an empty message on %s: taken as the clearing of its retained message",
                short_topic(topic),
            )
        for letter in repeats:
            log.info(
                "the retained message on %s is still the one dead-lettered before (%s); "
                "not again. Clear it: mosquitto_pub -r -n -t '%s'",
                short_topic(letter.topic),
                letter.reason,
                letter.topic if len(letter.topic) <= 1024 else "<the topic>",
            )
        for letter in out.dead_letters:
            log.warning(
                "dead-lettered a message on %s: %s (%s)",
                short_topic(letter.topic),
                letter.reason,
                letter.detail[:300],
            )
            if side is None or not side.publish(
                dead_letter_topic(letter.school or "unknown"), dead_letter_payload(letter)
            ):
                # Stored already; only the notice on the dead-letter topic is not sent.
                self.metrics.dead_letter_notices_dropped.inc()
        self._dead_memory.remember(out.dead_letters)
        return out

    def _admitted(
        self, item: Inbound, result: StoredMessage | tuple[str, Status]
    ) -> StoredMessage | tuple[str, Status] | DeadLetter:
        """*result*, or its dead letter when strict enrolment refuses its device."""
        enrolment = self.enrolment
        assert enrolment is not None
        if isinstance(result, StoredMessage):
            school, device_id, kind, claimed = result.school, result.device_id, result.kind, None
        else:
            school, status = result
            device_id, kind, claimed = status.device_id, status.kind, status.edge_id
        why = enrolment.refusal(school, device_id, kind, claimed)
        if why is not None and self._enrolment_checked_at != self._batch_number:
            # Perhaps enrolled since the copy was read: look at the registry's counter, once
            # a batch at most.
            self._enrolment_checked_at = self._batch_number
            enrolment.refresh(now=True)
            why = enrolment.refusal(school, device_id, kind, claimed)
        if why is None:
            return result
        # Counted in `_account`, after the commit: a batch retried is not counted twice.
        return _dead(
            item, datetime.fromtimestamp(item.received_at, UTC), UNKNOWN_DEVICE_REASON, why
        )

    def _fresh(self, statuses: list[tuple[str, Status]]) -> list[tuple[str, Status]]:
        """Drop a status that is the one already recorded for its device (same time, state).

        Statuses are retained, so the broker sends each device's last one again on every
        reconnection of the gateway; taken as news, it would reopen the alerts it raised once
        and count them again. (Older is not enough to drop: a last will carries the time its
        client connected, earlier than the statuses that client sent since.)
        """
        if not statuses:
            return statuses
        recorded = self.devices.last_statuses(status.device_id for _, status in statuses)
        out = []
        for school, status in statuses:
            if status.ts is not None and recorded.get(status.device_id) == (
                status.ts,
                status.state.value,
            ):
                self.stats["stale_statuses"] += 1
                continue
            out.append((school, status))
        return out

    def _account(
        self,
        batch: Sequence[Inbound],
        out: CommittedBatch,
        inserted: int,
        duplicates: int,
        seen: dict[tuple[str, str, str], tuple[datetime, int]],
    ) -> None:
        m = self.metrics
        channels: dict[str, int] = {}
        for item in batch:
            if item.body is not None:
                continue  # posted over HTTP: counted in campusedge_push_requests
            channel = item.topic.rsplit("/", 1)[-1]
            channel = channel if channel in ("reading", "event", "status") else "other"
            channels[channel] = channels.get(channel, 0) + 1
        for channel, count in channels.items():
            m.received.labels(channel=channel).inc(count)
        m.stored.inc(inserted)
        m.duplicates.inc(duplicates)
        self.stats["stored"] += inserted
        self.stats["duplicates"] += duplicates
        self.stats["statuses"] += len(out.statuses)
        # The device label comes from the topic, which anyone allowed to publish chooses:
        # only devices the registry knows get a series of their own, so garbage on made-up
        # topics cannot create unlimited series.
        devices = [_topic_device(letter.topic) for letter in out.dead_letters]
        try:
            known = self.devices.kinds({d for d in devices if d is not None})
        except Exception:
            # After the commit nothing may raise into the retry loop (the batch's dead letters
            # would be written again): without the registry every label is the unknown one.
            log.exception("could not look up the devices of %d dead letter(s)", len(devices))
            known = {}
        for letter, device in zip(out.dead_letters, devices, strict=True):
            m.dead_letters.labels(reason=letter.reason).inc()
            if letter.reason == UNKNOWN_DEVICE_REASON:
                m.unknown_device.labels(channel=letter.topic.rsplit("/", 1)[-1]).inc()
                self.stats["unknown_device"] += 1
            label = (
                device
                if device is not None and device in known and letter.reason != UNKNOWN_DEVICE_REASON
                else UNKNOWN_DEVICE
            )
            m.device_dead_letters.labels(device_id=label).inc()
        # Counted once their metrics are: whoever sees the count sees them too.
        self.stats["dead_lettered"] += len(out.dead_letters)
        # Per-device series only for enrolled devices (they have sent a status): valid
        # messages on made-up device ids must not each create series either.
        try:
            enrolled = self._enrolled.of((s, d) for s, d, _ in seen)
        except Exception:
            log.exception("could not look up the enrolled devices")
            enrolled = set()
        m.count_devices(seen, enrolled)
