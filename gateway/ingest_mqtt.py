"""The MQTT side of ingest, run in a child process: receive, hand batches over, ack on request.

Splitting ingest over two processes lets paho's per-packet work (parsing, acknowledging) and
the gateway's per-message work (validation, SQLite) use both cores instead of taking turns
for one GIL. This process never decides to acknowledge anything: it sends a PUBACK only
when the parent says the batch holding that message is committed. If the parent dies, the
pipe closes and this process exits at once, acking nothing more; the broker redelivers.

Messages on the pipe (each one pickle):

- child -> parent: `("connected", gen, session_present)`, `("disconnected", gen)`,
  `("batch", gen, [(topic, payload, mid, qos, received_at, retain), ...])`;
- parent -> child: `("ack", gen, [(mid, qos), ...])`, `("publish", topic, payload)`,
  `("stop",)`.

`gen` counts connections: after a reconnect the broker redelivers what was not acknowledged,
so acks meant for an earlier connection are dropped rather than sent on the new one.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Literal, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from campusedge.settings import MqttSettings
from campusedge.topics import device_subscriptions

log = logging.getLogger(__name__)

RawMessage = tuple[str, bytes, int, int, float, bool]
_PUBACK = 0x40


class IngestOptions(Protocol):
    """The ingest settings this side needs (kept structural: this module must not import the
    validating side, so that the child process starts with paho and little else)."""

    school: str
    client_id: str
    protocol: Literal["5", "3.1.1"]
    receive_maximum: int
    session_expiry_s: int
    batch_max: int
    batch_wait_ms: int


def puback_packets(mids: list[int]) -> bytes:
    """PUBACKs for *mids* as one byte string: fixed header 0x40, length 2, packet id.

    In MQTT 5 a PUBACK of remaining length 2 means reason Success with no properties
    (MQTT 5.0 section 3.4.2.1), so the same bytes serve both protocol versions.
    """
    return b"".join(b"\x40\x02" + mid.to_bytes(2, "big") for mid in mids)


class MqttSide:
    """One paho client, its network thread, and the pipe to the parent."""

    def __init__(
        self,
        conn: Connection,
        mqtt_settings: MqttSettings,
        *,
        school: str,
        client_id: str,
        protocol: Literal["5", "3.1.1"],
        receive_maximum: int,
        session_expiry_s: int,
        batch_max: int,
        batch_wait_ms: int,
    ) -> None:
        self.conn = conn
        self.mqtt_settings = mqtt_settings
        self.school = school
        self.protocol = protocol
        self.receive_maximum = receive_maximum
        self.session_expiry_s = session_expiry_s
        self.batch_max = batch_max
        self.batch_wait_s = batch_wait_ms / 1000
        self.gen = 0
        self._pending: list[RawMessage] = []
        self._pending_since = 0.0
        self._lock = threading.Lock()  # guards _pending and gen
        self._send_lock = threading.Lock()  # one pickle at a time on the pipe
        self.client = self._make_client(client_id)

    def _make_client(self, client_id: str) -> mqtt.Client:
        v5 = self.protocol == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        s = self.mqtt_settings
        if s.username:
            client.username_pw_set(
                s.username, s.password.get_secret_value() if s.password else None
            )
        if s.tls_ca:
            client.tls_set(ca_certs=s.tls_ca)
        client.max_inflight_messages_set(1000)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        return client

    def _send(self, message: tuple[Any, ...]) -> None:
        try:
            with self._send_lock:
                self.conn.send(message)
        except OSError:  # the parent is gone: nothing may be acknowledged any more
            os._exit(0)

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        with self._lock:
            self._flush_locked()
            self.gen += 1
            gen = self.gen
        client.subscribe([(f, 1) for f in device_subscriptions(self.school)])
        self._send(("connected", gen, bool(flags.session_present)))

    def _on_disconnect(
        self, client: mqtt.Client, userdata: object, flags: Any, reason: Any, properties: Any
    ) -> None:
        with self._lock:
            self._flush_locked()
            gen = self.gen
        self._send(("disconnected", gen))

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        # Runs on paho's network thread for every message: keep it to an append. A full
        # batch is sent from here, so a parent that falls behind blocks this thread, paho
        # stops reading the socket and the broker keeps the rest in the persistent session.
        with self._lock:
            if not self._pending:
                self._pending_since = time.monotonic()
            self._pending.append(
                (msg.topic, bytes(msg.payload), msg.mid, msg.qos, time.time(), bool(msg.retain))
            )
            if len(self._pending) >= self.batch_max:
                self._flush_locked()

    def _flush_locked(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self._send(("batch", self.gen, batch))

    def flush_if_due(self) -> None:
        with self._lock:
            if self._pending and time.monotonic() - self._pending_since >= self.batch_wait_s:
                self._flush_locked()

    def ack(self, gen: int, acks: list[tuple[int, int]]) -> None:
        # Read without the lock: it may be held by the network thread while it waits for
        # the parent to take a batch, and the parent may be waiting for this ack to go out.
        if gen != self.gen:
            return  # an earlier connection's messages: the broker redelivers them
        mids = [mid for mid, qos in acks if qos == 1]
        if not mids:
            return
        queue_packet = getattr(self.client, "_packet_queue", None)
        if queue_packet is None:  # a paho without the hook: one call per message
            for mid in mids:
                self.client.ack(mid, 1)
            return
        # One write for the whole batch instead of a queued packet, a wake-up of the network
        # thread and a send() per message.
        queue_packet(_PUBACK, puback_packets(mids), 0, 0)

    def connect(self) -> None:
        props = None
        if self.protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = self.session_expiry_s
            props.ReceiveMaximum = self.receive_maximum
        s = self.mqtt_settings
        self.client.connect_async(
            s.host,
            s.port,
            keepalive=s.keepalive_s,
            clean_start=False if props is not None else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=props,
        )
        self.client.loop_start()

    def serve(self) -> None:
        """Obey the parent until it says stop or goes away."""
        while True:
            try:
                ready = self.conn.poll(self.batch_wait_s or 0.01)
                command = self.conn.recv() if ready else None
            except (EOFError, OSError):
                os._exit(0)  # the parent died: exit without acknowledging anything more
            if command is None:
                self.flush_if_due()
            elif command[0] == "ack":
                self.ack(command[1], command[2])
                self.flush_if_due()
            elif command[0] == "publish":
                self.client.publish(command[1], command[2], qos=1)
            elif command[0] == "stop":
                # DISCONNECT is queued behind the acks already queued, so they go out first.
                self.client.disconnect()
                self.client.loop_stop()
                return


def run_mqtt_side(
    conn: Connection, mqtt_settings: MqttSettings, options: dict[str, Any], log_level: int
) -> None:
    """Entry point of the child process."""
    # Ctrl-C reaches the whole process group; the parent decides when this process stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(
        level=log_level, format="%(asctime)s %(levelname)s mqtt-side %(name)s: %(message)s"
    )
    side = MqttSide(conn, mqtt_settings, **options)
    side.connect()
    side.serve()


class MqttSideProcess:
    """The parent's handle on the child: start it, read its messages, send it commands."""

    def __init__(
        self,
        mqtt_settings: MqttSettings,
        settings: IngestOptions,
        on_connection: Callable[[bool, str], None],
    ) -> None:
        self._on_connection = on_connection
        ctx = mp.get_context("spawn")  # fork would copy the gateway's threads and locks
        self._conn, child_conn = ctx.Pipe(duplex=True)
        options = {
            "school": settings.school,
            "client_id": settings.client_id,
            "protocol": settings.protocol,
            "receive_maximum": settings.receive_maximum,
            "session_expiry_s": settings.session_expiry_s,
            "batch_max": settings.batch_max,
            "batch_wait_ms": settings.batch_wait_ms,
        }
        self._proc = ctx.Process(
            target=run_mqtt_side,
            name="campusedge-mqtt",
            args=(child_conn, mqtt_settings, options, logging.getLogger().getEffectiveLevel()),
            daemon=True,
        )
        self._proc.start()
        child_conn.close()  # only the child holds its end: its death closes the pipe
        self._send_lock = threading.Lock()
        # A thread of its own drains the pipe while the writer commits: otherwise the child
        # blocks on a full pipe during every commit, stops reading the broker, and the two
        # processes take turns instead of working in parallel. Bounded: a few batches.
        self._inbox: queue.Queue[tuple[Any, ...] | None] = queue.Queue(maxsize=4)
        self._closed = threading.Event()
        self._waiting = 0  # messages handed over by the child and not yet taken
        self._count_lock = threading.Lock()
        self._reader = threading.Thread(
            target=self._read_pipe, name="ingest-pipe-reader", daemon=True
        )
        self._reader.start()

    def _read_pipe(self) -> None:
        while not self._closed.is_set():
            message: tuple[Any, ...] | None
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                message = None  # the child is gone
                self._on_connection(False, "the MQTT process exited")
            if message is not None and message[0] == "connected":
                # Connection news is handled here, not queued behind batches, so that health
                # stays true while the writer is busy (or retrying a failing store).
                self._on_connection(True, f"session present: {message[2]}")
                continue
            if message is not None and message[0] == "disconnected":
                self._on_connection(False, "disconnected from the broker")
                continue
            if message is not None:
                with self._count_lock:
                    self._waiting += len(message[2])
            while not self._closed.is_set():
                try:
                    self._inbox.put(message, timeout=0.5)
                    break
                except queue.Full:
                    continue
            if message is None:
                return

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    @property
    def exitcode(self) -> int | None:
        return self._proc.exitcode

    def alive(self) -> bool:
        return self._proc.is_alive()

    def receive(self, timeout_s: float) -> tuple[Any, ...] | None:
        """The child's next message, None if there is none within *timeout_s*.

        Raises EOFError once the child is gone.
        """
        try:
            message = (
                self._inbox.get(timeout=timeout_s) if timeout_s > 0 else self._inbox.get_nowait()
            )
        except queue.Empty:
            return None
        if message is None:
            self._inbox.put(None)  # keep saying so
            raise EOFError("the MQTT process exited")
        with self._count_lock:
            self._waiting -= len(message[2])
        return message

    def waiting(self) -> int:
        """Messages received from the broker and waiting in this process for the writer."""
        return self._waiting

    def _send(self, command: tuple[Any, ...]) -> None:
        try:
            with self._send_lock:
                self._conn.send(command)
        except OSError:
            pass  # the child is gone; receive() reports it, and nothing is acknowledged

    def ack(self, gen: int, acks: list[tuple[int, int]]) -> None:
        if acks:
            self._send(("ack", gen, acks))

    def publish(self, topic: str, payload: bytes) -> None:
        self._send(("publish", topic, payload))

    def stop(self, timeout_s: float) -> None:
        """Ask the child to disconnect (after the acks already sent), then wait for it."""
        self._send(("stop",))
        self._proc.join(timeout_s)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5)
        self._closed.set()
        self._reader.join(5)
        self._conn.close()
