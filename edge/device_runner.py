"""One thread per transport: read bytes, frame, decode, hand decoded items to the agent."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from drivers import modbus
from drivers.base import Decoded, DecodeError, Driver, DriverConfig, Framer
from edge.config import (
    BleSimTransport,
    BleTransport,
    ResolvedDevice,
    SerialTransport,
    TcpTransport,
)
from edge.transports import gatt_profiles
from edge.transports.base import ByteTransport, SourceState, TransportError
from edge.transports.ble import SimulatedBleAdapter
from edge.transports.modbus import ModbusPoller
from edge.transports.serial_port import SerialTransport as PySerialTransport
from edge.transports.tcp_stream import TcpTransport as SocketTransport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    """A decoded item with where and when it arrived."""

    runner: DeviceRunner
    transport_source: str | None
    decoded: Decoded
    received_s: float


def make_transport(dev: ResolvedDevice, driver_cfg: DriverConfig) -> ByteTransport:
    t = dev.entry.transport
    if isinstance(driver_cfg, modbus.Config):
        # Several units on one line are listed in ids by unit number; else the model's unit.
        units: dict[str | None, int] | None = {src: int(src) for src in dev.entry.ids} or None
        if isinstance(t, SerialTransport):
            return ModbusPoller(driver_cfg, serial_port=t.port, baudrate=t.baudrate, units=units)
        if isinstance(t, TcpTransport):
            return ModbusPoller(driver_cfg, host=t.host, tcp_port=t.port, units=units)
        raise ValueError(f"{dev.entry.id}: a modbus device is on a serial or tcp transport")
    if isinstance(t, SerialTransport):
        baud = t.baudrate or int(getattr(driver_cfg, "baudrate", 9600))
        return PySerialTransport(t.port, baud)
    if isinstance(t, TcpTransport):
        return SocketTransport(t.host, t.port)
    if isinstance(t, BleSimTransport):
        return SimulatedBleAdapter(t.host, t.port)
    if isinstance(t, BleTransport):
        # Imported here: the BLE stack takes most of a second to import, and only boxes with
        # bands need it.
        from edge.transports.ble_central import BleCentral

        return BleCentral(
            t.hci,
            dev.entry.ids,
            max_connections=t.max_connections,
            connect_timeout_s=t.connect_timeout_s,
            read_battery=t.read_battery,
            profile=gatt_profiles.BY_DRIVER[dev.model.driver],
        )
    raise ValueError(f"{dev.entry.id}: transport {t.type} carries no bytes")


class DeviceRunner(threading.Thread):
    """Keeps one transport open, and reopens it with a back-off when it fails."""

    def __init__(
        self,
        dev: ResolvedDevice,
        driver: Driver,
        out: Callable[[Received], None],
        stop: threading.Event,
        transport: ByteTransport | None = None,
        on_open: Callable[[], list[bytes]] | None = None,
        guard_decoder: bool = False,
    ) -> None:
        super().__init__(name=f"device-{dev.entry.id}", daemon=True)
        # A plug-in's decoder is third-party code: a bug in it (an IndexError on an odd
        # frame) costs that frame, counted and logged, not the device's thread.
        self._guard_decoder = guard_decoder
        self.dev = dev
        self.driver = driver
        # Replaced whole by the agent on a config command; read once per frame here.
        self.config: DriverConfig = dev.driver_config
        self.transport = transport or make_transport(dev, dev.driver_config)
        self._out = out
        self._halt = stop
        self._framers: dict[str | None, Framer] = {}
        self._writes: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        # Commands to send whenever the link (re)opens, built at that moment (a time sync).
        self._on_open = on_open
        self.online = False
        self.decode_errors = 0
        self.frames = 0
        self.opens = 0
        self.last_error: str | None = None

    @property
    def discarded_bytes(self) -> int:
        return sum(f.discarded_bytes for f in self._framers.values())

    @property
    def corrupted_frames(self) -> int:
        return sum(f.corrupted_frames for f in self._framers.values())

    @property
    def poll_errors(self) -> dict[str, int]:
        """Failed polls by published device id, for transports that poll (Modbus)."""
        query = getattr(self.transport, "poll_errors", None)
        if not isinstance(query, dict):
            return {}
        return {self.dev.device_id(source): n for source, n in query.items()}

    def source_state(self, source: str) -> SourceState | None:
        """The link of one device behind this runner's radio, when the transport knows it."""
        query = getattr(self.transport, "source_state", None)
        state = query(source) if query is not None else None
        return state if isinstance(state, SourceState) else None

    def send(self, data: bytes) -> None:
        """Queue bytes for the device (commands); written by this runner's thread."""
        self._writes.put(data)

    def run(self) -> None:
        backoff = 0.2
        while not self._halt.is_set():
            try:
                self.transport.open()
            except TransportError as exc:
                self._failed(str(exc))
                self._halt.wait(backoff)
                backoff = min(5.0, backoff * 2)
                continue
            self.opens += 1
            self.online = True
            backoff = 0.2
            for data in self._on_open() if self._on_open else []:
                self._writes.put(data)
            try:
                self._pump()
            except TransportError as exc:
                self._failed(str(exc))
            finally:
                self.online = False
                self.transport.close()

    def _failed(self, why: str) -> None:
        if why != self.last_error:
            log.warning("%s: %s", self.dev.entry.id, why)
        self.last_error = why
        self.online = False

    def _pump(self) -> None:
        while not self._halt.is_set():
            while not self._writes.empty():
                self.transport.write(self._writes.get())
            for source, chunk in self.transport.read(0.2):
                now = time.time()
                framer = self._framers.get(source)
                if framer is None:
                    framer = self._framers[source] = self.driver.framer(self.config)
                for frame in framer.feed(chunk):
                    self.frames += 1
                    try:
                        items = self.driver.decode(frame, self.config)
                    except DecodeError as exc:
                        # Counted and skipped: one bad frame must not stop the device.
                        self.decode_errors += 1
                        log.debug("%s: %s", self.dev.entry.id, exc)
                        continue
                    except Exception as exc:
                        if not self._guard_decoder:
                            raise
                        self.decode_errors += 1
                        log.error(
                            "%s: plug-in driver %s failed on frame %s: %s: %s (a bug in the "
                            "plug-in; the frame is skipped)",
                            self.dev.entry.id,
                            self.dev.model.driver,
                            frame[:32].hex(),
                            type(exc).__name__,
                            exc,
                        )
                        continue
                    for item in items:
                        self._out(Received(self, source, item, now))
