"""The edge agent: runs a box's devices, stamps and buffers their readings, publishes them."""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from campusedge.contract import (
    CLOCK_OFFSET_LIMIT_S,
    COMMAND_RESULTS_KEPT,
    BufferRepair,
    CommandResult,
    DeviceState,
    Event,
    EventMessage,
    Reading,
    ReadingMessage,
    Status,
    StoredWatermark,
    TimeQuality,
)
from campusedge.excerpt import excerpt
from campusedge.settings import MqttSettings
from campusedge.topics import Channel, DeviceKind, DeviceTopic, check_id, cmd_topic
from campusedge.units import Metric
from drivers import jump_rope
from drivers.base import DriverConfig
from drivers.registry import registry
from edge.buffer import NewMessage
from edge.buffer_guard import open_buffer
from edge.clock import OffsetEstimator
from edge.config import BoxConfig, ConfigError, driver_config
from edge.device_runner import DeviceRunner, Received
from edge.metrics import EdgeMetrics, Snapshot
from edge.mqtt_link import Command, MqttLink
from edge.results import Submitted as Submitted
from edge.stored_marks import StoredMarks

if TYPE_CHECKING:
    from edge.station_runner import StationRunner

log = logging.getLogger(__name__)
BATCH = 500
METRICS_INTERVAL_S = 1.0
# How long the device and station threads together get to stop before the final drain.
DEVICE_STOP_S = 3.0


class LinkState(Protocol):
    """What the agent reads from a device's thread for its status (byte link or camera)."""

    online: bool
    last_error: str | None


@dataclass
class TrackedDevice:
    """What the agent tracks per device id."""

    kind: DeviceKind
    firmware: str | None
    runner: LinkState | None  # None for results submitted by a producer the agent did not start
    source: str | None = None  # its address behind a shared radio (a BLE band), if any
    clock: OffsetEstimator = field(default_factory=OffsetEstimator)
    model_versions: dict[str, str] = field(default_factory=dict)
    last_frame_id: int | None = None
    battery_pct: float | None = None
    status_sent_s: float = 0.0
    status_battery: float | None = None
    # Whether the device stamps readings with a real-time clock of its own (not an uptime
    # counter): only then is its clock offset a drift worth reporting.
    rtc: bool = False
    status_offset: float | None = None
    online_sent: bool | None = None
    error_sent: str | None = None
    last_seen_s: float | None = None  # Unix time of its last decoded frame


@dataclass
class Stats:
    """Counters of one run; written as JSON by `edge run --stats-out`."""

    messages: int = 0
    acked: int = 0
    decode_errors: int = 0
    discarded_bytes: int = 0
    corrupted_frames: int = 0
    poll_errors: int = 0
    duplicate_frames: int = 0
    dropped: int = 0
    # Published live without a copy in the buffer, which took no writes (a full disk).
    unbuffered: int = 0
    buffer_unavailable: str | None = None  # why the buffer takes no writes, while it does not
    max_buffered: int = 0
    buffered: int = 0
    connects: int = 0
    mqtt_error: str | None = None  # why the broker could not be reached, while it could not
    rtc_corrected: int = 0
    rejected: int = 0
    config_version: str = ""
    peak_rss_mb: float = 0.0
    # Damaged buffer files moved aside and rebuilt, and the messages carried over from them.
    buffer_repairs: int = 0
    buffer_recovered: int = 0


def peak_rss_mb() -> float:
    """Peak resident set size of this process (VmHWM), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _rope_time_sync() -> list[bytes]:
    return [jump_rope.encode_time_sync(int(time.time()))]


def _command_id(body: dict[str, Any]) -> str | None:
    """The gateway's id of a command (absent: sent by hand, nothing to report back)."""
    value = body.pop("command_id", None)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("command_id must be a string")
    return check_id(value, "command id")


class EdgeAgent:
    """Owns the buffer and the MQTT link; device threads only feed its queue."""

    def __init__(
        self,
        box: BoxConfig,
        mqtt: MqttSettings,
        buffer_path: Path | None = None,
        runners: list[DeviceRunner] | None = None,
    ) -> None:
        self.box = box
        b = box.box
        self.school = b.school
        self.edge_id = b.edge_id
        self.config_version = b.config_version
        self.config_detail: str | None = None
        # Results of the commands sent with an id, oldest first (repeated in the box status).
        self.command_results: dict[str, CommandResult] = {}
        self.stop_event = threading.Event()
        # Set (a second SIGTERM/SIGINT) to give up the drain: what is left stays in the buffer.
        self.abort_drain = threading.Event()
        self._stop_devices = threading.Event()
        self.queue: queue.Queue[Received | Submitted] = queue.Queue(maxsize=20_000)
        self.buffer_guard = open_buffer(buffer_path or Path(b.buffer.path), b.buffer.max_bytes)
        self.buffer = self.buffer_guard.buffer
        self._buffer_state_sent: str | None = None
        self.stats = Stats(config_version=self.config_version)
        self._devices: dict[str, TrackedDevice] = {}
        self._inflight: dict[int, int] = {}
        self._inflight_keys: dict[int, tuple[str, int]] = {}  # entry id -> (device, seq)
        self.stored_marks = StoredMarks(b.resend_after_s)
        self._last_sent_id = 0
        self._seen_connects = 0
        self._edge_status_s = 0.0
        self._repairs_sent = 0
        if runners is None:
            runners = []
            drivers = registry().drivers
            for dev in box.devices:
                if dev.model.driver not in drivers:
                    continue  # cameras feed on-device inference, not this byte pipeline
                # The ropes' clocks are set on every (re)connection of the base station.
                on_open = _rope_time_sync if dev.model.driver == "jump_rope" else None
                runners.append(
                    DeviceRunner(
                        dev,
                        drivers[dev.model.driver],
                        self.queue.put,
                        self._stop_devices,
                        on_open=on_open,
                        guard_decoder=dev.model.driver in registry().plugins,
                    )
                )
        self.runners = {r.dev.entry.id: r for r in runners}
        self.stations = self._camera_stations()
        self.model_versions = dict(b.model_versions)
        for st in self.stations.values():
            versions = {"pose": st.model_version} if st.model_version else {}
            for name, version in versions.items():
                self.model_versions.setdefault(name, version)
            # Known before the first result, so a camera that never opens still has a status.
            self._devices[st.device_id] = TrackedDevice(
                kind=st.dev.kind, firmware=st.dev.model.firmware, runner=st, model_versions=versions
            )
        self._edge_topic = str(
            DeviceTopic(self.school, DeviceKind.EDGE, self.edge_id, Channel.STATUS)
        )
        self.metrics = EdgeMetrics(self.edge_id) if b.metrics_port is not None else None
        self.metrics_port: int | None = None  # bound once running
        self._metrics_s = 0.0
        self._pe_frames: dict[str, tuple[float, int]] = {}
        self.link = MqttLink(
            mqtt,
            client_id=f"edge-{self.school}-{self.edge_id}",
            will_topic=self._edge_topic,
            will_payload=self._edge_status(DeviceState.OFFLINE),
            subscriptions=[cmd_topic(self.school, self.edge_id, "#")],
            max_inflight=b.inflight,
        )

    def _camera_stations(self) -> dict[str, StationRunner]:
        """PE-station cameras: each counts in its own thread and submits what it counted."""
        cameras = [dev for dev in self.box.devices if dev.model.driver in registry().cameras]
        if not cameras:
            return {}
        # Imported only for a box with a camera: the pose pipeline brings OpenCV, NumPy and
        # onnxruntime, about 80 MB of resident memory that a gate or band box has no use for.
        from edge.station_runner import StationRunner

        return {
            dev.entry.id: StationRunner(dev, self.submit, self._stop_devices) for dev in cameras
        }

    # -- running -----------------------------------------------------------------------

    def run(self, duration_s: float | None = None, drain_s: float = 10.0) -> Stats:
        """Run until `stop_event` is set or *duration_s* passed; then drain and go offline."""
        self.link.start()
        if self.metrics is not None and self.box.box.metrics_port is not None:
            host, port = self.box.box.metrics_host, self.box.box.metrics_port
            try:
                self.metrics_port = self.metrics.serve(host, port)
                log.info("Prometheus metrics on http://%s:%d/metrics", host, self.metrics_port)
            except OSError as exc:
                # Readings matter more than their metrics: the box runs on without them.
                self.metrics = None
                log.error("cannot serve metrics on %s:%d (%s); running without", host, port, exc)
        for r in self.runners.values():
            r.start()
        for st in self.stations.values():
            st.start()
        deadline = None if duration_s is None else time.monotonic() + duration_s
        try:
            while not self.stop_event.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                self.step(wait_s=0.05)
        finally:
            self._stop_devices.set()
            self._join_devices(DEVICE_STOP_S)
            self.step(wait_s=0)
            drain_end = time.monotonic() + drain_s
            while (
                self.buffer.count and time.monotonic() < drain_end and not self.abort_drain.is_set()
            ):
                self.step(wait_s=0.05)
            self._go_offline()
            self.link.stop()
            self._update_stats()
            if self.metrics is not None:
                self.metrics.stop()
            if self.buffer_guard.in_memory and self.buffer.count:
                log.error(
                    "%d message(s) in the memory buffer are lost: the buffer file could not "
                    "be opened (%s)",
                    self.buffer.count,
                    self.buffer_guard.unavailable,
                )
            self.buffer.close()
        return self.stats

    def _join_devices(self, within_s: float) -> None:
        """Wait for the device and station threads to stop, *within_s* for all of them
        together: one each in turn was 2 s per device that was slow to notice, more than a
        service manager's stop timeout on a box with many devices."""
        deadline = time.monotonic() + within_s
        threads: list[DeviceRunner | StationRunner] = [
            *self.runners.values(),
            *self.stations.values(),
        ]
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        slow = [t.name for t in threads if t.is_alive()]
        if slow:
            # Daemon threads: they end with the process; what they still hold is not lost
            # (a device resends what the box did not acknowledge).
            log.warning(
                "%d device thread(s) still running %.0f s after the stop: %s",
                len(slow),
                within_s,
                ", ".join(slow[:10]),
            )

    def step(self, wait_s: float) -> None:
        """One round of the main loop: take decoded items, acks and commands; publish."""
        items: list[Received | Submitted] = []
        try:
            items.append(self.queue.get(timeout=wait_s) if wait_s else self.queue.get_nowait())
            while len(items) < BATCH:
                items.append(self.queue.get_nowait())
        except queue.Empty:
            pass
        reopened = self.buffer_guard.reopen()
        if reopened is not None:
            # From the file's oldest entry: its own from before, then those moved from memory.
            self.buffer = reopened
            self._inflight.clear()
            self._inflight_keys.clear()
            self.stored_marks.forget(self.stored_marks.ids())  # ids of the memory buffer
            self._last_sent_id = 0
        if items:
            self._buffer_items(items)
        self._take_acks()
        while not self.link.commands.empty():
            self._command(self.link.commands.get())
        if self.link.connected.is_set():
            if self.link.connects != self._seen_connects:
                self._seen_connects = self.link.connects
                self._publish_edge_status()
                for dev in self._devices.values():
                    dev.online_sent = None
            if self.buffer_guard.unavailable != self._buffer_state_sent:
                # The buffer stopped or started taking writes: told now, not at the next
                # status interval.
                self._buffer_state_sent = self.buffer_guard.unavailable
                self._publish_edge_status()
            if len(self.buffer.repairs) != self._repairs_sent:
                self._publish_edge_status()  # a buffer rebuilt while running is told at once
            self._publish_pending()
            if self.box.box.delete_on == "gateway":
                self._resend()
            self._publish_statuses()
        self._update_stats()

    # -- readings ----------------------------------------------------------------------

    def submit(self, item: Submitted, timeout_s: float | None = None) -> bool:
        """Queue a result made on the box; waits while the agent is 20,000 items behind.

        With *timeout_s*, gives up after that long and returns False (the producer can check
        whether it should stop instead of waiting on a stalled agent).
        """
        try:
            self.queue.put(item, timeout=timeout_s)
        except queue.Full:
            return False
        return True

    def _device(self, rec: Received | Submitted, device_id: str) -> TrackedDevice:
        dev = self._devices.get(device_id)
        if dev is None:
            if isinstance(rec, Submitted):
                dev = TrackedDevice(kind=rec.kind, firmware=rec.firmware, runner=None)
            else:
                dev = TrackedDevice(
                    kind=rec.runner.dev.kind,
                    firmware=rec.runner.dev.model.firmware,
                    runner=rec.runner,
                    source=rec.transport_source,
                )
            self._devices[device_id] = dev
        return dev

    def _messages(
        self,
        device_id: str,
        kind: DeviceKind,
        ts: datetime,
        quality: TimeQuality,
        readings: list[Reading],
        event: Event | None,
    ) -> list[NewMessage]:
        out = []
        if readings:
            seq = self.buffer.next_seq(device_id)
            msg = ReadingMessage(
                device_id=device_id,
                kind=kind,
                seq=seq,
                ts=ts,
                time_quality=quality,
                readings=readings,
            )
            out.append(
                NewMessage(
                    device_id,
                    seq,
                    str(DeviceTopic(self.school, kind, device_id, Channel.READING)),
                    msg.model_dump_json().encode(),
                    is_event=False,
                )
            )
        if event is not None:
            seq = self.buffer.next_seq(device_id)
            ev = EventMessage(
                device_id=device_id, kind=kind, seq=seq, ts=ts, time_quality=quality, event=event
            )
            out.append(
                NewMessage(
                    device_id,
                    seq,
                    str(DeviceTopic(self.school, kind, device_id, Channel.EVENT)),
                    ev.model_dump_json().encode(),
                    is_event=True,
                )
            )
        return out

    def _stamp(self, dev: TrackedDevice, rec: Received) -> tuple[datetime, TimeQuality]:
        d = rec.decoded
        quality = d.time_quality or TimeQuality.RECEIVED
        if d.device_time_s is None:
            return datetime.fromtimestamp(rec.received_s, UTC), TimeQuality.RECEIVED
        offset = dev.clock.update(d.device_time_s, rec.received_s)
        if quality in (TimeQuality.SYNCED, TimeQuality.UNSYNCED):
            dev.rtc = True
            if abs(offset) <= self.box.box.max_rtc_error_s:
                return datetime.fromtimestamp(d.device_time_s, UTC), quality
            # The device clock is further off than the transport delay explains: trust the
            # offset measured here instead, and say so.
            self.stats.rtc_corrected += 1
        return datetime.fromtimestamp(d.device_time_s + offset, UTC), TimeQuality.ESTIMATED

    def _buffer_items(self, items: list[Received | Submitted]) -> None:
        new: list[NewMessage] = []
        for rec in items:
            if isinstance(rec, Submitted):
                try:
                    check_id(rec.device_id, "device id")
                except ValueError as exc:
                    self.stats.rejected += 1
                    log.warning("submitted result: %s", exc)
                    continue
                self._device(rec, rec.device_id)
                new += self._messages(
                    rec.device_id, rec.kind, rec.ts, rec.time_quality, rec.readings, rec.event
                )
                continue
            d = rec.decoded
            dev_cfg = rec.runner.dev
            try:
                device_id = dev_cfg.device_id(
                    d.source if d.source is not None else rec.transport_source
                )
            except ValueError as exc:
                # A source that makes no valid device id (an odd BLE address): not publishable.
                self.stats.rejected += 1
                log.warning("%s: %s", dev_cfg.entry.id, exc)
                continue
            dev = self._device(rec, device_id)
            dev.last_seen_s = rec.received_s
            if d.frame_id is not None:
                if d.frame_id == dev.last_frame_id:
                    self.stats.duplicate_frames += 1  # a radio or serial retransmission
                    continue
                dev.last_frame_id = d.frame_id
            ts, quality = self._stamp(dev, rec)
            for r in d.readings:
                if r.metric == Metric.BATTERY:
                    dev.battery_pct = float(r.value)
            new += self._messages(device_id, dev_cfg.kind, ts, quality, d.readings, d.event)
        self.stats.messages += len(new)
        dropped = self.buffer_guard.add(new, set(self._inflight.values()))
        if dropped is None:
            self._publish_unbuffered(new)
            return
        self.stats.dropped += dropped
        if dropped and len(self.stored_marks) > self.buffer.count:
            # The bound dropped some that were waiting for the gateway: forget those too.
            waiting = self.stored_marks.ids()
            kept = {e.id for e in self.buffer.get(waiting)}
            self.stored_marks.forget(i for i in waiting if i not in kept)

    def _publish_unbuffered(self, new: list[NewMessage]) -> None:
        """The buffer takes no writes (a full disk): live readings go out without a copy."""
        if not self.link.connected.is_set():
            self.stats.dropped += len(new)  # neither a copy nor a broker: shed, and counted
            return
        for m in new:
            self.link.publish(m.topic, m.payload)
        self.stats.unbuffered += len(new)

    def _take_acks(self) -> None:
        done = []
        while not self.link.acks.empty():
            entry = self._inflight.pop(self.link.acks.get(), None)
            if entry is not None:
                done.append(entry)
        if not done:
            return
        self.stats.acked += len(done)
        keys = [(i, *self._inflight_keys.pop(i)) for i in done if i in self._inflight_keys]
        if self.box.box.delete_on == "broker":
            self.buffer_guard.remove(done)
        else:
            self.stored_marks.acked(keys)

    def _take_stored(self, payload: bytes) -> None:
        """The gateway's stored watermark: delete what it covers from the buffer."""
        mark = StoredWatermark.model_validate_json(payload)
        if mark.edge_id != self.edge_id:
            raise ValueError(f"a watermark for edge box {mark.edge_id!r}, not this one")
        covered = self.stored_marks.watermark(mark)
        try:
            for device_id, seq in covered.items():
                self.buffer.remove_through(device_id, seq)
        except sqlite3.OperationalError as exc:
            # A full disk: the entries stay and go with the next watermark (a heartbeat
            # repeats it within seconds); the gateway discards any copy sent meanwhile.
            log.warning("could not delete stored entries from the buffer: %s", exc)

    def _resend(self) -> None:
        """Send again what the gateway evidently missed (see edge.stored_marks)."""
        room = self.box.box.inflight - len(self._inflight)
        for e in self.buffer.get(self.stored_marks.due(room)):
            self._inflight[self.link.publish(e.topic, e.payload)] = e.id
            self._inflight_keys[e.id] = (e.device_id, e.seq)

    def _publish_pending(self) -> None:
        room = self.box.box.inflight - len(self._inflight)
        if room <= 0:
            return
        for e in self.buffer.pending(self._last_sent_id, room):
            self._inflight[self.link.publish(e.topic, e.payload)] = e.id
            self._inflight_keys[e.id] = (e.device_id, e.seq)
            self._last_sent_id = e.id

    # -- status ------------------------------------------------------------------------

    def _edge_status(self, state: DeviceState, *, stopped: bool = False) -> bytes:
        detail = (
            f"buffered={self.buffer.count} dropped={self.stats.dropped} "
            f"decode_errors={self.stats.decode_errors} "
            f"corrupted_frames={self.stats.corrupted_frames}"
        )
        if self.buffer_guard.unavailable:
            detail += (
                f"; buffer unavailable ({self.buffer_guard.unavailable}), "
                f"unbuffered={self.stats.unbuffered}"
            )
        if self.config_detail:
            detail += f"; {self.config_detail}"
        repair = self._buffer_repair()
        if repair is not None:
            # First, so that the fleet view's one-line detail shows it before anything else.
            detail = (
                f"buffer damaged and rebuilt ({repair.repairs}x, last "
                f"{repair.at:%Y-%m-%d %H:%M}Z): {repair.recovered} messages recovered, "
                f"damaged file kept as {repair.moved_to}; {detail}"
            )
        return Status(
            device_id=self.edge_id,
            kind=DeviceKind.EDGE,
            state=state,
            ts=datetime.now(UTC),
            firmware=self.box.box.firmware,
            model_versions=dict(self.model_versions),
            config_version=self.config_version,
            stopped=stopped,
            detail=detail[:256],
            buffer_repair=repair,
            commands=list(self.command_results.values()) or None,
        ).wire()

    def _buffer_repair(self) -> BufferRepair | None:
        repairs = self.buffer.repairs
        if not repairs:
            return None
        last = repairs[-1]
        return BufferRepair(
            at=last.at,
            reason=last.reason[:256],
            moved_to=last.moved_to.name[:256],
            recovered=last.recovered,
            repairs=len(repairs),
        )

    def _publish_edge_status(self) -> None:
        self.link.publish(self._edge_topic, self._edge_status(DeviceState.ONLINE), retain=True)
        self._edge_status_s = time.monotonic()
        self._repairs_sent = len(self.buffer.repairs)

    def _publish_statuses(self) -> None:
        now = time.monotonic()
        interval = self.box.box.status_interval_s
        if now - self._edge_status_s >= interval:
            self._publish_edge_status()
        if self._stop_devices.is_set():
            # Stopping: the devices went offline because the box stopped them, not by a
            # fault; `_go_offline` says so (stopped) once the buffer has drained.
            return
        for device_id, dev in self._devices.items():
            online, error = self._link(dev)
            battery_moved = (
                dev.battery_pct is not None
                and dev.status_battery is not None
                and abs(dev.battery_pct - dev.status_battery) >= 5
            )
            model_moved = self._refresh_model_version(device_id, dev)
            # A clock first measured, or moved by more than an RTC is trusted to be off, is
            # told at once: the gateway raises clock drift from it.
            offset = self._rtc_offset(dev)
            offset_moved = offset is not None and (
                dev.status_offset is None
                or abs(offset - dev.status_offset) > self.box.box.max_rtc_error_s
            )
            if (
                online == dev.online_sent
                and error == dev.error_sent
                and not battery_moved
                and not model_moved
                and not offset_moved
                and now - dev.status_sent_s < interval
            ):
                continue
            self._publish_device_status(device_id, dev, online)

    @staticmethod
    def _rtc_offset(dev: TrackedDevice) -> float | None:
        """Box clock minus the device's real-time clock, rounded; None without an RTC."""
        offset = dev.clock.offset if dev.rtc else None
        if offset is None:
            return None
        # Within the contract's bound (about 31 years): a box whose own clock was never set
        # (1970) is that far from a gate's, and an out-of-range status would not be built.
        return round(max(-CLOCK_OFFSET_LIMIT_S, min(CLOCK_OFFSET_LIMIT_S, offset)), 3)

    def _refresh_model_version(self, device_id: str, dev: TrackedDevice) -> bool:
        """A station that loaded another pose model (a config command) reports the new one."""
        station = self.stations.get(device_id)
        version = station.model_version if station is not None else None
        if version is None or dev.model_versions.get("pose") == version:
            return False
        dev.model_versions["pose"] = version
        self.model_versions["pose"] = version
        return True

    @staticmethod
    def _link(dev: TrackedDevice) -> tuple[bool, str | None]:
        """Whether the device is reachable, and why not; its battery when the radio read it.

        A band behind a shared BLE radio has its own link: the radio can be up while the band
        is out of range.
        """
        if dev.runner is None:
            return True, None
        online, error = dev.runner.online, dev.runner.last_error
        if isinstance(dev.runner, DeviceRunner) and dev.source is not None:
            state = dev.runner.source_state(dev.source)
            if state is not None:
                if state.battery_pct is not None:
                    dev.battery_pct = state.battery_pct
                if online and not state.online:
                    online, error = False, state.detail
        return online, error

    def _publish_device_status(
        self, device_id: str, dev: TrackedDevice, online: bool, *, stopped: bool = False
    ) -> None:
        link_online, error = self._link(dev)
        online = online and link_online and not stopped
        status = Status(
            device_id=device_id,
            kind=dev.kind,
            state=DeviceState.ONLINE if online else DeviceState.OFFLINE,
            ts=datetime.now(UTC),
            firmware=dev.firmware,
            battery_pct=dev.battery_pct,
            model_versions=dict(dev.model_versions),
            config_version=self.config_version,
            stopped=stopped,
            edge_id=self.edge_id,
            clock_offset_s=None if stopped else self._rtc_offset(dev),
            detail="box stopped" if stopped else self._device_detail(device_id, dev, online, error),
        )
        self.link.publish(
            str(DeviceTopic(self.school, dev.kind, device_id, Channel.STATUS)),
            status.wire(),
            retain=True,
        )
        dev.status_sent_s = time.monotonic()
        dev.status_battery = dev.battery_pct
        dev.status_offset = status.clock_offset_s
        dev.online_sent = online
        dev.error_sent = error

    def _device_detail(
        self, device_id: str, dev: TrackedDevice, online: bool, error: str | None
    ) -> str | None:
        if not online and dev.runner is not None:
            return (error or "")[:256] or None
        st = self.stations.get(device_id)
        if st is not None and dev.runner is st:
            return f"frames={st.frames} dropped={st.frames_dropped} results={st.submitted}"
        offset = self._rtc_offset(dev)
        if offset is not None:
            # Campus IT sees how far the device's real-time clock is from the box's. A device
            # that counts only uptime (a rope base station) has no wall clock to be off: its
            # "offset" is its boot time in Unix seconds, which means nothing to a person.
            return f"clock offset {offset:+.3f} s"
        return None

    def _go_offline(self) -> None:
        if not self.link.connected.is_set():
            return
        for device_id, dev in self._devices.items():
            self._publish_device_status(device_id, dev, online=False, stopped=True)
        self.link.publish(
            self._edge_topic, self._edge_status(DeviceState.OFFLINE, stopped=True), retain=True
        )
        time.sleep(0.2)  # let paho write the last packets before the disconnect

    # -- commands ----------------------------------------------------------------------

    def _command(self, cmd: Command) -> None:
        name = cmd.topic.rsplit("/", 1)[-1]
        if name == "stored":
            try:
                self._take_stored(cmd.payload)
            except (ValueError, ValidationError) as exc:
                log.warning("ignored a stored watermark: %s", str(exc)[:200])
            return  # one a second: no status for it
        command_id: str | None = None
        try:
            body = json.loads(cmd.payload)
            if not isinstance(body, dict):
                raise ValueError("the payload must be a JSON object")
            command_id = _command_id(body)
            if command_id is not None and command_id in self.command_results:
                # Sent again (the gateway resends what it has no result for when a box comes
                # back): done once already, so only the result is said again.
                command_id = None
            elif name == "config":
                self._apply_config(body)
            elif name == "rope":
                self._rope_command(body)
            elif name == "model":
                self._model_command(body)
            else:
                raise ValueError(f"unknown command {name!r} (config, rope, model, stored)")
            if command_id is not None:
                self._command_done(command_id, name, True, self.config_detail or "")
        except (ValueError, ConfigError, ValidationError) as exc:
            self.config_detail = excerpt(f"command {name} rejected: {exc}", 200)
            log.warning("%s", self.config_detail)
            if command_id is not None:
                self._command_done(command_id, name, False, self.config_detail)
        if self.link.connected.is_set():
            self._publish_edge_status()

    def _command_done(self, command_id: str, name: str, ok: bool, detail: str) -> None:
        self.command_results[command_id] = CommandResult(
            id=command_id, name=name, ok=ok, detail=excerpt(detail, 256), at=datetime.now(UTC)
        )
        while len(self.command_results) > COMMAND_RESULTS_KEPT:
            self.command_results.pop(next(iter(self.command_results)))

    def _apply_config(self, body: dict[str, Any]) -> None:
        version = body.get("config_version")
        devices = body.get("devices", {})
        if not isinstance(version, str) or not isinstance(devices, dict):
            raise ValueError("config needs config_version (string) and devices (object)")
        staged: dict[str, DriverConfig] = {}
        for dev_id, overrides in devices.items():
            runner: DeviceRunner | StationRunner | None = self.runners.get(
                dev_id
            ) or self.stations.get(dev_id)
            if runner is None:
                raise ValueError(f"no device {dev_id!r} on this box")
            if not isinstance(overrides, dict):
                raise ValueError(f"{dev_id}: overrides must be an object")
            # A station may still hold an earlier command's config, not yet taken: amend that.
            station = self.stations.get(dev_id)
            current = (station.latest_config() if station else runner.config).model_dump()
            staged[dev_id] = driver_config(
                runner.dev.model.driver, {**current, **overrides}, f"config {version} for {dev_id}"
            )
            if dev_id in self.stations:
                self.stations[dev_id].check(staged[dev_id])
        # All or nothing: a half-applied config is harder to reason about than none.
        for dev_id, cfg in staged.items():
            if dev_id in self.stations:
                self.stations[dev_id].reconfigure(cfg)
            else:
                self.runners[dev_id].config = cfg
        self.config_version = version
        self.stats.config_version = version
        self.config_detail = f"config {version} applied to {', '.join(staged) or 'no device'}"

    def _model_command(self, body: dict[str, Any]) -> None:
        """Install a signed model from the gateway and switch every camera to it."""
        key = self.box.box.model_signing_key
        if not key:
            raise ValueError(
                "no model_signing_key is pinned in this box's config: model updates are refused"
            )
        # Here, not at the top: the pose pipeline (onnxruntime, OpenCV) loads only on a box that
        # needs it, and a model update is one.
        from edge.model_update import ModelOffer, install, public_key

        offer = ModelOffer.parse(body)
        path = install(offer, public_key(key), Path(self.box.box.model_dir))
        for station in self.stations.values():
            station.reconfigure(
                station.latest_config().model_copy(update={"model_file": str(path)})
            )
        self.model_versions["pose"] = offer.sha256[:12]
        self.config_detail = (
            f"model {offer.file} ({offer.sha256[:12]}) passed its self-test; "
            f"{len(self.stations)} camera(s) switched to it"
        )

    def _rope_command(self, body: dict[str, Any]) -> None:
        try:
            action = jump_rope.Action[str(body.get("action", "")).upper()]
            mode = jump_rope.Mode[str(body.get("mode", "free")).upper()]
        except KeyError:
            raise ValueError(
                "action must be start/pause/resume/end and mode free/countdown_time/countdown_count"
            ) from None
        set_value = int(body.get("set_value", 0))
        if "ropes" in body:
            # By the ropes' own device ids, as the gateway knows them from a lesson.
            targets = self._ropes_by_id(body["ropes"])
        else:
            runner = self.runners.get(str(body.get("device")))
            if runner is None or runner.dev.model.driver != "jump_rope":
                raise ValueError(f"no rope base station {body.get('device')!r} on this box")
            rope = int(body.get("rope", jump_rope.ALL_ROPES))
            if not 0 <= rope <= jump_rope.ALL_ROPES:
                raise ValueError(f"rope number {rope} is outside 0..65535")
            targets = [(runner, rope)]
        for runner, rope in targets:
            runner.send(jump_rope.encode_time_sync(int(time.time()), rope))
            runner.send(jump_rope.encode_control(action, mode, set_value, rope))
        stations = sorted({runner.dev.entry.id for runner, _ in targets})
        self.config_detail = excerpt(
            f"rope {action.name.lower()} sent to {len(targets)} rope(s) via {', '.join(stations)}",
            200,
        )

    def _ropes_by_id(self, ropes: object) -> list[tuple[DeviceRunner, int]]:
        """(base station, rope number) of each rope device id: all known, or none is sent."""
        if not isinstance(ropes, list) or not ropes or len(ropes) > 1000:
            raise ValueError("ropes must be a list of 1 to 1000 rope device ids")
        found: dict[str, tuple[DeviceRunner, int]] = {}
        for runner in self.runners.values():
            if runner.dev.model.driver != "jump_rope":
                continue
            entry = runner.dev.entry
            # A rope is named by the config's `ids` (rope number -> id), else `<station>-<n>`.
            named = {device_id: source for source, device_id in entry.ids.items()}
            for device_id in ropes:
                source = named.get(str(device_id))
                if source is None and str(device_id).startswith(f"{entry.id}-"):
                    source = str(device_id)[len(entry.id) + 1 :]
                if source is not None and source.isdigit() and int(source) < jump_rope.ALL_ROPES:
                    found.setdefault(str(device_id), (runner, int(source)))
        unknown = [str(d) for d in ropes if str(d) not in found]
        if unknown:
            raise ValueError(f"no rope {', '.join(unknown[:5])} behind this box's base stations")
        return list(found.values())

    def _update_stats(self) -> None:
        s = self.stats
        s.decode_errors = sum(r.decode_errors for r in self.runners.values())
        s.discarded_bytes = sum(r.discarded_bytes for r in self.runners.values())
        s.corrupted_frames = sum(r.corrupted_frames for r in self.runners.values())
        s.poll_errors = sum(sum(r.poll_errors.values()) for r in self.runners.values())
        s.buffered = self.buffer.count
        s.buffer_unavailable = self.buffer_guard.unavailable
        s.max_buffered = max(s.max_buffered, self.buffer.max_count)
        s.connects = self.link.connects
        s.mqtt_error = self.link.last_error
        s.peak_rss_mb = round(peak_rss_mb(), 1)
        s.buffer_repairs = len(self.buffer.repairs)
        s.buffer_recovered = sum(r.recovered for r in self.buffer.repairs)
        now = time.monotonic()
        if self.metrics is not None and now - self._metrics_s >= METRICS_INTERVAL_S:
            self._metrics_s = now
            self.metrics.update(self._snapshot())

    def _snapshot(self) -> Snapshot:
        """The numbers /metrics serves (built here, on the thread that owns the buffer)."""
        now = time.time()
        oldest = self.buffer.oldest_timestamp() if self.buffer.count else None
        fps: dict[str, float] = {}
        for device_id, station in self.stations.items():
            then, frames = self._pe_frames.get(device_id, (now, station.frames))
            if now > then:
                fps[device_id] = round((station.frames - frames) / (now - then), 2)
            self._pe_frames[device_id] = (now, station.frames)
        return Snapshot(
            buffered=self.buffer.count,
            buffered_bytes=self.buffer.bytes,
            oldest_age_s=max(0.0, now - oldest.timestamp()) if oldest is not None else None,
            published=self.link.published,
            acked=self.stats.acked,
            dropped=self.stats.dropped,
            connected=self.link.connected.is_set(),
            connects=self.link.connects,
            decode_errors={i: r.decode_errors for i, r in self.runners.items()},
            corrupted_frames={i: r.corrupted_frames for i, r in self.runners.items()},
            poll_errors={d: n for r in self.runners.values() for d, n in r.poll_errors.items()},
            last_seen_s={
                i: d.last_seen_s for i, d in self._devices.items() if d.last_seen_s is not None
            },
            pe_fps=fps,
        )
