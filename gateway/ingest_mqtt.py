"""The MQTT side of ingest, run in a child process: receive, hand batches over, ack on request.

Splitting ingest over two processes lets paho's per-packet work (parsing, acknowledging) and
the gateway's per-message work (validation, SQLite) use both cores instead of taking turns
for one GIL. This process never decides to acknowledge anything: it sends a PUBACK only
when the parent says the batch holding that message is committed. If the parent dies, the
pipe closes and this process exits at once, acking nothing more; the broker redelivers.

The pipe carries the typed messages below (each one pickle). `gen` counts connections: after a
reconnect the broker redelivers what was not acknowledged, so acks meant for an earlier
connection are dropped rather than sent on the new one.

No thread on either side sends into the pipe while it holds a lock, and the parent's writer
never sends at all: it hands acks and publications to a sender thread of its own and goes on.
Each side has exactly one thread that may wait for the other (the child's sender on a full
pipe, the parent's reader on a full inbox), and what they wait for never waits on them, so the
two processes cannot hold each other up (they did, under a flood of dead letters: the writer
blocked republishing into the pipe while the child, holding its lock, blocked sending a batch
into the parent's full inbox). A watchdog in the parent restarts the child if it still stops
making progress.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Literal, Protocol

import paho.mqtt.client as mqtt

from campusedge.mqtt_client import connect_properties, make_client
from campusedge.processes import die_with_parent
from campusedge.settings import MqttSettings
from campusedge.topics import device_subscriptions, shared_subscriptions, short_topic

log = logging.getLogger(__name__)

RawMessage = tuple[str, bytes, int, int, float, bool]


# --- what crosses the pipe ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Connected:
    gen: int
    session_present: bool


@dataclass(frozen=True, slots=True)
class Disconnected:
    gen: int


@dataclass(frozen=True, slots=True)
class Batch:
    gen: int
    # (topic, payload, mid, qos, received_at, retain): tuples, not objects, because this is
    # the one message sent thousands of times a second and pickling tuples is cheapest.
    messages: list[RawMessage]


@dataclass(frozen=True, slots=True)
class Drained:
    """A drain ended: `complete` when the session was emptied, else it stopped short (the
    broker keeps what it had not acknowledged in the session, for a later drain)."""

    client_id: str
    complete: bool


@dataclass(frozen=True, slots=True)
class Ack:
    gen: int
    mids: list[int]


@dataclass(frozen=True, slots=True)
class Publish:
    topic: str
    payload: bytes
    retain: bool = False


@dataclass(frozen=True, slots=True)
class Stop:
    pass


@dataclass(frozen=True, slots=True)
class Hold:
    """A gateway worker's schools: subscribe to these (in the share group), and leave the
    others' subscriptions (a session resumed after a restart may still hold some)."""

    schools: frozenset[str]
    others: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Drain:
    """Take over a dead worker's MQTT session (*client_id*) once: leave its subscriptions
    (*schools*' share filters), take what it queued through this worker's ingest, then let go."""

    client_id: str
    schools: frozenset[str]


FromChild = Connected | Disconnected | Batch | Drained
ToChild = Ack | Publish | Stop | Hold | Drain

# A drained session's packet ids travel beside this connection's: tagged above 16 bits with
# the drain's number, so that an ack finds its way back to the client that received it.
_DRAIN_TAG = 1 << 16

# Shared progress marks (time.monotonic(), which is system-wide on Linux, so both processes
# read the same clock): written by the child, read by the parent's watchdog.
_SERVE_TICK, _SEND_SINCE, _CHILD_WAITING = 0, 1, 2


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
    share_group: str | None


def puback_packets(mids: list[int]) -> bytes:
    """PUBACKs for *mids* as one byte string: fixed header 0x40, length 2, packet id.

    In MQTT 5 a PUBACK of remaining length 2 means reason Success with no properties
    (MQTT 5.0 section 3.4.2.1), so the same bytes serve both protocol versions. Used by tests
    that speak raw MQTT; the gateway acks through paho's `ack`.
    """
    return b"".join(b"\x40\x02" + mid.to_bytes(2, "big") for mid in mids)


class MqttSide:
    """One paho client, its network thread, a sender thread, and the pipe to the parent."""

    # Batches (or connection news) waiting for the sender: while it is full the network thread
    # waits in on_message, paho stops reading, and the rest waits in the broker's session.
    OUTBOX_SLOTS = 4

    def __init__(
        self,
        conn: Connection,
        mqtt_settings: MqttSettings,
        marks: Any,
        *,
        school: str,
        client_id: str,
        protocol: Literal["5", "3.1.1"],
        receive_maximum: int,
        session_expiry_s: int,
        batch_max: int,
        batch_wait_ms: int,
        share_group: str | None = None,
        hold: Hold | None = None,
    ) -> None:
        self.conn = conn
        self.mqtt_settings = mqtt_settings
        self.marks = marks
        self.school = school
        self.protocol = protocol
        self.receive_maximum = receive_maximum
        self.session_expiry_s = session_expiry_s
        self.batch_max = batch_max
        self.batch_wait_s = batch_wait_ms / 1000
        # A gateway worker (share_group set) subscribes to the schools it holds, in that
        # group; otherwise to `school` ('+': all of them), as one gateway always has.
        self.share_group = share_group
        self._hold = hold or Hold(frozenset())
        self._sub_lock = threading.Lock()  # orders subscription changes; never waits on _lock
        self._drains: dict[int, _Drainer] = {}
        self.gen = 0
        self._pending: list[RawMessage] = []
        self._pending_since = 0.0
        self._lock = threading.Lock()  # guards _pending and gen; never held while waiting
        self._outbox: queue.Queue[FromChild] = queue.Queue(maxsize=self.OUTBOX_SLOTS)
        self._outbox_messages = 0  # messages in _outbox, for the parent's view of what waits
        self.client = make_client(
            mqtt_settings,
            client_id,
            protocol=protocol,
            persistent=True,
            manual_ack=True,
        )
        # Dead-letter notices are the only publications: a bounded number in flight and queued
        # (a broker away for long drops the newest notices, never a reading).
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(1000)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self._subscribing: tuple[int, int, bool] | None = None  # (mid, gen, session present)
        self._sender = threading.Thread(
            target=self._send_loop, name="mqtt-side-sender", daemon=True
        )

    # --- to the parent ----------------------------------------------------------------------
    def _put(self, item: FromChild) -> None:
        """Queue *item* for the parent; waits (holding no lock) while the outbox is full."""
        if isinstance(item, Batch):
            self._count(len(item.messages))
        self._outbox.put(item)

    def _count(self, delta: int) -> None:
        with self._lock:
            self._outbox_messages += delta
            self.marks[_CHILD_WAITING] = self._outbox_messages + len(self._pending)

    def _send_loop(self) -> None:
        while True:
            item = self._outbox.get()
            self.marks[_SEND_SINCE] = time.monotonic()
            try:
                self.conn.send(item)
            except OSError:  # the parent is gone: nothing may be acknowledged any more
                os._exit(0)
            self.marks[_SEND_SINCE] = 0.0
            if isinstance(item, Batch):
                self._count(-len(item.messages))

    # --- paho's callbacks (its network thread) ----------------------------------------------
    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        with self._lock:
            batch = self._take_locked()
            self.gen += 1
            gen = self.gen
        if batch is not None:
            self._put(batch)
        # Connected is said once the broker has taken the subscriptions (SUBACK), not on
        # CONNACK: a message published in between would reach no subscription of a new session.
        with self._sub_lock:
            if self.share_group is None:
                filters = device_subscriptions(self.school)
            else:
                filters = self._filters(self._hold.schools)
                if self._hold.others:
                    client.unsubscribe(self._filters(self._hold.others))
            if not filters:  # a worker that holds no school yet
                self._put(Connected(gen, bool(flags.session_present)))
                return
            _, mid = client.subscribe([(f, 1) for f in filters])
        if mid is None:  # not sent (the connection already lost): the next connect says it
            return
        with self._lock:
            self._subscribing = (mid, gen, bool(flags.session_present))

    def _filters(self, schools: frozenset[str]) -> list[str]:
        group = self.share_group or "campusedge"
        return [f for school in sorted(schools) for f in shared_subscriptions(school, group)]

    def hold(self, command: Hold) -> None:
        """Subscribe to the schools newly held and leave those given up (serve thread)."""
        with self._sub_lock:
            old, self._hold = self._hold.schools, command
            if not self.client.is_connected():
                return  # the next connect subscribes to what is held then
            if old - command.schools:
                # What the broker already sent for these is still received, committed and
                # acknowledged here: leaving a subscription does not take back what is in flight.
                self.client.unsubscribe(self._filters(old - command.schools))
            if command.schools - old:
                self.client.subscribe([(f, 1) for f in self._filters(command.schools - old)])
        log.info("holding %d schools: %s", len(command.schools), ", ".join(sorted(command.schools)))

    def drain(self, command: Drain) -> None:
        number = max(self._drains, default=0) + 1
        if number >= 1 << 15:
            log.error("too many session drains at once; %s is left for later", command.client_id)
            return
        drainer = _Drainer(self, number, command)
        self._drains[number] = drainer
        drainer.start()

    def _check_drains(self) -> None:
        for number, drainer in list(self._drains.items()):
            if drainer.finished():
                del self._drains[number]
                self._put(Drained(drainer.command.client_id, drainer.complete))

    def _on_subscribe(
        self, client: mqtt.Client, userdata: object, mid: int, reasons: Any, properties: Any
    ) -> None:
        with self._lock:
            waiting, self._subscribing = self._subscribing, None
        if waiting is None or waiting[0] != mid:
            return
        if any(getattr(r, "is_failure", False) for r in reasons):
            log.error("the broker refused a subscription: %s (check the ACL)", reasons)
        self._put(Connected(waiting[1], waiting[2]))

    def _on_disconnect(
        self, client: mqtt.Client, userdata: object, flags: Any, reason: Any, properties: Any
    ) -> None:
        with self._lock:
            batch = self._take_locked()
            gen = self.gen
        if batch is not None:
            self._put(batch)
        self._put(Disconnected(gen))

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        self.take(msg, msg.mid)

    def take(self, msg: mqtt.MQTTMessage, mid: int) -> None:
        """Add *msg* to the open batch under *mid* (tagged for a drained session's messages)."""
        # Runs on paho's network thread for every message: keep it to an append. An exception
        # here would end paho's thread (and with it the connection) for good, so none escapes.
        try:
            with self._lock:
                if not self._pending:
                    self._pending_since = time.monotonic()
                self._pending.append(
                    (msg.topic, bytes(msg.payload), mid, msg.qos, time.time(), bool(msg.retain))
                )
                self.marks[_CHILD_WAITING] = self._outbox_messages + len(self._pending)
                batch = self._take_locked() if len(self._pending) >= self.batch_max else None
            if batch is not None:
                self._put(batch)
        except Exception:
            log.exception(
                "taking a message on %s failed; the broker redelivers it", short_topic(msg.topic)
            )

    def _take_locked(self) -> Batch | None:
        if not self._pending:
            return None
        batch, self._pending = self._pending, []
        return Batch(self.gen, batch)

    def flush_if_due(self) -> None:
        with self._lock:
            due = self._pending and time.monotonic() - self._pending_since >= self.batch_wait_s
            batch = self._take_locked() if due else None
        if batch is not None:
            self._put(batch)

    # --- from the parent --------------------------------------------------------------------
    def ack(self, command: Ack) -> None:
        current = command.gen == self.gen
        for mid in command.mids:
            if mid >= _DRAIN_TAG:
                drainer = self._drains.get(mid // _DRAIN_TAG)
                if drainer is not None:
                    drainer.ack(mid % _DRAIN_TAG)
            elif current:  # else an earlier connection's message: the broker redelivers it
                self.client.ack(mid, 1)

    def connect(self) -> None:
        s = self.mqtt_settings
        props = connect_properties(self.protocol, self.session_expiry_s, self.receive_maximum)
        self.client.connect_async(
            s.host,
            s.port,
            keepalive=s.keepalive_s,
            clean_start=False if props is not None else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=props,
        )
        self._sender.start()
        self.client.loop_start()

    def _poll_timeout(self) -> float:
        """How long to wait for the parent before looking at the open batch again.

        Until the open batch is due; with none open, a quarter of the batch wait, since a
        message may open one meanwhile (paho's thread cannot wake this one). Waiting the whole
        batch wait each time let a message that came just after a look wait nearly twice as
        long as the setting says before it was sent.
        """
        wait = self.batch_wait_s or 0.01
        with self._lock:
            since = self._pending_since if self._pending else None
        if since is None:
            return wait / 4
        return min(wait, max(0.0, since + wait - time.monotonic()))

    def serve(self) -> None:
        """Obey the parent until it says stop or goes away."""
        while True:
            self.marks[_SERVE_TICK] = time.monotonic()
            try:
                ready = self.conn.poll(self._poll_timeout())
                command = self.conn.recv() if ready else None
            except (EOFError, OSError):
                os._exit(0)  # the parent died: exit without acknowledging anything more
            if isinstance(command, Ack):
                self.ack(command)
            elif isinstance(command, Publish):
                self.client.publish(command.topic, command.payload, qos=1, retain=command.retain)
            elif isinstance(command, Hold):
                self.hold(command)
            elif isinstance(command, Drain):
                self.drain(command)
            elif isinstance(command, Stop):
                # DISCONNECT is queued behind the acks already queued, so they go out first.
                for drainer in self._drains.values():
                    drainer.stop()
                self.client.disconnect()
                self.client.loop_stop()
                return
            self.flush_if_due()
            if self._drains:
                self._check_drains()


# Unsubscribed from by a drain to learn that the broker has nothing more for the session (no
# client subscribes to it; the broker answers an UNSUBSCRIBE of any filter).
BARRIER_TOPIC = "campusedge/drain-barrier"


class _Drainer:
    """One dead worker's session, resumed under its client id and emptied into this ingest.

    It leaves the session's subscriptions first (so nothing new is queued there), then takes
    what the broker queued or had in flight for it, each message acknowledged only after this
    worker committed it, like its own. Done when nothing is unacknowledged, nothing came for
    `IDLE_S`, and a barrier confirms it: an UNSUBSCRIBE of a topic nobody uses, sent after the
    last acknowledgement, is answered with no message before its UNSUBACK. The broker handles
    a connection's packets in order and sends the next queued message as soon as an
    acknowledgement frees its slot, so a message still queued would arrive first; the idle time
    alone could be a stalled process (a CPU-starved machine, a profiler's pause) that had not
    yet read what was waiting on its socket. The session, empty and subscribed to nothing,
    then lapses on the broker. If
    the dead worker comes back meanwhile, the broker hands it its session and this drain ends:
    what it had not acknowledged is the worker's again.
    """

    IDLE_S = 1.0
    GIVE_UP_S = 120.0

    def __init__(self, side: MqttSide, number: int, command: Drain) -> None:
        self.side = side
        self.tag = number * _DRAIN_TAG
        self.command = command
        self.outstanding: set[int] = set()
        self.started = self.last = time.monotonic()
        self.ready = False  # its subscriptions are left
        # A barrier's UNSUBSCRIBE in flight (one at a time, and only once the subscriptions
        # are left, so the next UNSUBACK is its), and whether a message came while it was.
        # A flag set before sending, not its packet id: the UNSUBACK can arrive on paho's
        # thread before `unsubscribe` has returned the id.
        self.barrier_pending = False
        self.barrier_clean = False
        self.empty = False  # a barrier came back clean: nothing is left in the session
        self.lost = False
        self.complete = False
        self.connects = 0
        self.client = make_client(
            side.mqtt_settings,
            command.client_id,
            protocol=side.protocol,
            persistent=True,
            manual_ack=True,
        )
        self.client.on_connect = self._on_connect
        self.client.on_unsubscribe = self._on_unsubscribe
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def start(self) -> None:
        s = self.side.mqtt_settings
        props = connect_properties(
            self.side.protocol, self.side.session_expiry_s, self.side.receive_maximum
        )
        self.client.connect_async(
            s.host,
            s.port,
            keepalive=s.keepalive_s,
            clean_start=False if props is not None else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=props,
        )
        self.client.loop_start()
        log.info("draining the MQTT session %s", self.command.client_id)

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: Any, reason: Any, properties: Any
    ) -> None:
        self.connects += 1
        if reason.is_failure or self.connects > 1:
            # A second connection would resume a session whose packet ids this drain no
            # longer knows: the session stays on the broker for its owner or a later drain.
            self.lost = True
            client.disconnect()
            return
        filters = self.side._filters(self.command.schools)
        if filters:
            client.unsubscribe(filters)
        else:
            self.ready = True

    def _on_unsubscribe(
        self, client: mqtt.Client, userdata: object, mid: int, reasons: Any, properties: Any
    ) -> None:
        if self.ready and self.barrier_pending:
            self.barrier_pending = False
            self.empty = self.barrier_clean and not self.outstanding
            return
        self.ready = True
        self.last = time.monotonic()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: object, flags: Any, reason: Any, properties: Any
    ) -> None:
        self.lost = True

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        self.last = time.monotonic()
        self.barrier_clean = False
        self.empty = False
        if msg.qos:
            self.outstanding.add(msg.mid)
        self.side.take(msg, self.tag + msg.mid)

    def ack(self, mid: int) -> None:
        if self.lost or mid not in self.outstanding:
            return  # the connection it came on is gone: the session keeps the message
        self.outstanding.discard(mid)
        self.last = time.monotonic()
        self.client.ack(mid, 1)

    def finished(self) -> bool:
        now = time.monotonic()
        if self.lost:
            log.warning(
                "the drain of MQTT session %s ended early (%d messages unacknowledged stay in "
                "it for its owner or a later drain)",
                self.command.client_id,
                len(self.outstanding),
            )
        elif now - self.started > self.GIVE_UP_S:
            log.warning("the drain of MQTT session %s took too long; left", self.command.client_id)
        elif not (self.ready and not self.outstanding and now - self.last >= self.IDLE_S):
            return False
        elif not self.empty:
            if not self.barrier_pending:
                self.barrier_clean = True
                self.barrier_pending = True
                self.client.unsubscribe(BARRIER_TOPIC)
            return False
        else:
            log.info("drained the MQTT session %s", self.command.client_id)
            self.complete = True
        self.stop()
        return True

    def stop(self) -> None:
        self.lost = True
        self.client.disconnect()
        self.client.loop_stop()


def run_mqtt_side(
    conn: Connection,
    mqtt_settings: MqttSettings,
    options: dict[str, Any],
    marks: Any,
    log_level: int,
    parent_pid: int,
) -> None:
    """Entry point of the child process."""
    # Killed with the gateway (a kill -9 of it leaves no orphan acking nothing for ever).
    die_with_parent(signal.SIGKILL, parent_pid)
    # Ctrl-C and a terminal's hang-up reach the whole process group; the parent decides when
    # this process stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    logging.basicConfig(
        level=log_level, format="%(asctime)s %(levelname)s mqtt-side %(name)s: %(message)s"
    )
    side = MqttSide(conn, mqtt_settings, marks, **options)
    side.connect()
    side.serve()


class MqttSideProcess:
    """The parent's handle on the child: start it, read its messages, send it commands."""

    # Dead-letter publications waiting for the pipe. They are a notice (the dead letter itself
    # is already in the store), so past this many the newest are dropped and counted rather
    # than waited for.
    PUBLISH_SLOTS = 1000
    # The child's messages read from the pipe and not yet taken by the writer: a few batches.
    INBOX_SLOTS = 4

    def __init__(
        self,
        mqtt_settings: MqttSettings,
        settings: IngestOptions,
        on_connection: Callable[[bool, str], None],
        hold: Hold | None = None,
        on_drained: Callable[[Drained], None] | None = None,
    ) -> None:
        self._on_connection = on_connection
        self._on_drained = on_drained
        ctx = mp.get_context("spawn")  # fork would copy the gateway's threads and locks
        self._conn, child_conn = ctx.Pipe(duplex=True)
        # lock=False: each mark has one writer, and a torn read of a float is not possible
        # for an aligned 8-byte value on the platforms we run on.
        self.marks: Any = ctx.Array("d", 3, lock=False)
        self.marks[_SERVE_TICK] = time.monotonic()
        options = {
            "school": settings.school,
            "client_id": settings.client_id,
            "protocol": settings.protocol,
            "receive_maximum": settings.receive_maximum,
            "session_expiry_s": settings.session_expiry_s,
            "batch_max": settings.batch_max,
            "batch_wait_ms": settings.batch_wait_ms,
            "share_group": settings.share_group,
            "hold": hold,
        }
        self._proc = ctx.Process(
            target=run_mqtt_side,
            name="campusedge-mqtt",
            args=(
                child_conn,
                mqtt_settings,
                options,
                self.marks,
                logging.getLogger().getEffectiveLevel(),
                os.getpid(),
            ),
            daemon=True,
        )
        self._proc.start()
        self.started_at = time.monotonic()
        child_conn.close()  # only the child holds its end: its death closes the pipe
        # A thread of its own drains the pipe while the writer commits: otherwise the child
        # blocks on a full pipe during every commit, stops reading the broker, and the two
        # processes take turns instead of working in parallel. Bounded: a few batches.
        self._inbox: queue.Queue[Batch | None] = queue.Queue(maxsize=self.INBOX_SLOTS)
        self._closed = threading.Event()
        self._waiting = 0  # messages handed over by the child and not yet taken
        self._count_lock = threading.Lock()
        self.last_received = time.monotonic()  # when the reader last took a message
        # What the writer asks of the child, sent by a thread of its own so the writer never
        # waits on the pipe: acks without a bound (they are fewer than the messages received,
        # which the inbox bounds), publications bounded and dropped past it.
        self._acks: deque[Ack] = deque()
        self._publications: deque[Publish | Hold | Drain] = deque()
        self._stop_requested = False
        self._wake = threading.Condition()
        self.publications_dropped = 0
        self._reader = threading.Thread(
            target=self._read_pipe, name="ingest-pipe-reader", daemon=True
        )
        self._sender = threading.Thread(
            target=self._send_loop, name="ingest-pipe-sender", daemon=True
        )
        self._reader.start()
        self._sender.start()

    # --- from the child ---------------------------------------------------------------------
    def _read_pipe(self) -> None:
        while not self._closed.is_set():
            message: FromChild | None
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                message = None  # the child is gone
                self._on_connection(False, "the MQTT process exited")
            self.last_received = time.monotonic()
            if isinstance(message, Connected):
                # Connection news is handled here, not queued behind batches, so that health
                # stays true while the writer is busy (or retrying a failing store).
                self._on_connection(True, f"session present: {message.session_present}")
                continue
            if isinstance(message, Disconnected):
                self._on_connection(False, "disconnected from the broker")
                continue
            if isinstance(message, Drained):
                if self._on_drained is not None:
                    self._on_drained(message)
                continue
            if message is not None:
                with self._count_lock:
                    self._waiting += len(message.messages)
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

    def receive(self, timeout_s: float) -> Batch | None:
        """The child's next batch, None if there is none within *timeout_s*.

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
            self._waiting -= len(message.messages)
        return message

    def waiting(self) -> int:
        """Messages received from the broker and not yet taken by the writer (both processes)."""
        return self._waiting + int(self.marks[_CHILD_WAITING])

    def stalled(self, after_s: float) -> str | None:
        """Why the child has stopped making progress for *after_s* seconds, None while it moves.

        Waiting for the parent is progress of a kind (back-pressure while the writer commits);
        a child whose command loop stopped turning, or whose pipe stays full while this side's
        reader has room to take from it, is wedged.
        """
        now = time.monotonic()
        if now - self.started_at < after_s:
            return None
        if now - self.marks[_SERVE_TICK] > after_s:
            return f"its command loop has not turned for {now - self.marks[_SERVE_TICK]:.0f} s"
        since = self.marks[_SEND_SINCE]
        if since and now - since > after_s and not self._inbox.full():
            return f"it has been sending one message for {now - since:.0f} s"
        return None

    # --- to the child -----------------------------------------------------------------------
    def _send_loop(self) -> None:
        while True:
            with self._wake:
                while not (self._acks or self._publications or self._stop_requested):
                    self._wake.wait()
                # Acks first: they free the broker's window; a notice can wait.
                command: ToChild
                if self._acks:
                    command = self._acks.popleft()
                elif self._publications:
                    command = self._publications.popleft()
                else:
                    command = Stop()
            try:
                self._conn.send(command)
            except OSError:
                return  # the child is gone; receive() reports it, and nothing is acknowledged
            if isinstance(command, Stop):
                return

    def ack(self, gen: int, mids: list[int]) -> None:
        """Ask the child to acknowledge *mids*; returns at once."""
        if mids:
            with self._wake:
                self._acks.append(Ack(gen, mids))
                self._wake.notify()

    def command(self, command: Hold | Drain) -> None:
        """Send a worker's subscription change or session drain; returns at once."""
        with self._wake:
            self._publications.appendleft(command)
            self._wake.notify()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        """Ask the child to publish at QoS 1; returns at once. False if dropped (queue full).

        A retained message (a box's stored watermark: one a box a second at most) is never
        dropped, since no later notice would repeat it.
        """
        with self._wake:
            if not retain and len(self._publications) >= self.PUBLISH_SLOTS:
                self.publications_dropped += 1
                return False
            self._publications.append(Publish(topic, payload, retain))
            self._wake.notify()
        return True

    def stop(self, timeout_s: float) -> None:
        """Ask the child to disconnect (after the acks already asked for), then wait for it."""
        with self._wake:
            self._stop_requested = True
            self._wake.notify()
        self._proc.join(timeout_s)
        self.kill()
        self._closed.set()
        self._reader.join(5)
        self._sender.join(5)
        self._conn.close()

    def kill(self) -> None:
        """End the child now; what it held unacknowledged the broker sends again."""
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5)
