"""A BLE GATT central (bumble host stack) that subscribes to the kit's bands or thermometers.

bumble drives a controller through an HCI transport string: `usb:0` (a USB dongle),
`hci-socket:0` (a Linux HCI socket), `serial:/dev/ttyACM0,1000000` (a UART controller), or
`tcp-client:127.0.0.1:PORT` (the virtual link of simulators/ble_link.py). Each controller
scans passively; when a band listed in the box's `ids` advertises, the first controller with
a free connection slot connects, discovers the driver's service (edge/transports/
gatt_profiles.py: Heart Rate 0x180D for bands, Health Thermometer 0x1809 for thermometers),
enables notifications of its measurement characteristic (Heart Rate Measurement 0x2A37), or
indications where the characteristic only indicates (Temperature Measurement 0x2A1C), through
its CCCD and, when the device has the Battery Service (0x180F), reads Battery Level (0x2A19).
A device that drops is connected again when it advertises again. Advertisers not in `ids`
are never connected.

bumble is asyncio and the agent's transports are synchronous, so the stack runs its own event
loop in a thread; notifications cross to the agent through a bounded queue.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bumble import gatt, hci
from bumble.core import UUID, BaseBumbleError
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.transport import open_transport
from bumble.transport.common import Transport, TransportLostError

from edge.transports.base import SourceState, TransportError
from edge.transports.gatt_profiles import HEART_RATE, GattProfile

log = logging.getLogger(__name__)

# 40 bands notifying once a second fill this in over 100 s. The agent reads the queue in a
# loop that never blocks on the network (publishing goes through the on-disk buffer), so it
# fills only if the agent's thread stalls; then the oldest notifications go first, because a
# live heart rate is worth more than a stale one, and each one dropped is counted.
QUEUE_LIMIT = 4096
# Strangers' addresses remembered only to log each once; phones change theirs every few
# minutes, so the set is emptied when it reaches this size.
STRANGERS_KEPT = 1024


@dataclass
class _Radio:
    """One controller: its transport, its bumble Device and the bands it holds."""

    spec: str
    transport: Transport
    device: Device
    links: dict[str, Connection] = field(default_factory=dict)
    connecting: bool = False


@dataclass
class BandLink:
    """What the central knows of one kit band (read by the agent's thread)."""

    connected: bool = False
    connects: int = 0
    notifications: int = 0
    battery_pct: int | None = None
    last_error: str | None = None


def normalize_address(address: str) -> str:
    """`ce:5e:00:00:00:01` -> `CE:5E:00:00:00:01`; ValueError when it is not 6 hex bytes."""
    parts = address.split(":")
    if len(parts) != 6 or not all(len(p) == 2 for p in parts):
        raise ValueError(f"BLE address {address!r} is not six hex bytes like CE:5E:00:00:00:01")
    try:
        return ":".join(f"{int(p, 16):02X}" for p in parts)
    except ValueError:
        raise ValueError(
            f"BLE address {address!r} is not six hex bytes like CE:5E:00:00:00:01"
        ) from None


class BleCentral:
    """The box's BLE radios: connect the kit's bands, hand on their 0x2A37 notifications."""

    def __init__(
        self,
        hci_specs: Sequence[str],
        kit: Iterable[str],
        *,
        max_connections: int = 7,
        connect_timeout_s: float = 5.0,
        read_battery: bool = True,
        open_timeout_s: float = 10.0,
        queue_limit: int = QUEUE_LIMIT,
        profile: GattProfile = HEART_RATE,
    ) -> None:
        if not hci_specs:
            raise ValueError("a BLE central needs at least one HCI transport")
        self._specs = list(hci_specs)
        self.profile = profile
        self.kit = frozenset(normalize_address(a) for a in kit)
        self._max_connections = max_connections
        self._connect_timeout_s = connect_timeout_s
        self._read_battery = read_battery
        self._open_timeout_s = open_timeout_s
        self._queue: collections.deque[tuple[str, bytes]] = collections.deque()
        self._queue_limit = queue_limit
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Future[None] | None = None
        self._ready = threading.Event()
        self._error: str | None = None
        self._claimed: set[str] = set()
        self._radios: list[_Radio] = []
        self.bands: dict[str, BandLink] = {a: BandLink() for a in self.kit}
        self.dropped = 0
        self.strangers_seen: set[str] = set()

    @property
    def description(self) -> str:
        return f"BLE central on {', '.join(self._specs)} ({len(self.kit)} bands)"

    # -- the agent's side ---------------------------------------------------------------

    def open(self) -> None:
        if self._thread is not None:
            raise TransportError(f"{self.description} is already open")
        self._error = None
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="ble-central", daemon=True)
        self._thread.start()
        if not self._ready.wait(self._open_timeout_s) and self._error is None:
            self._error = f"the controller did not power on in {self._open_timeout_s:g} s"
        if self._error is not None:
            error = self._error
            self.close()
            raise TransportError(f"cannot open {self.description}: {error}")

    def read(self, timeout_s: float) -> list[tuple[str | None, bytes]]:
        with self._cond:
            if not self._queue and self._error is None:
                self._cond.wait(timeout_s)
            out: list[tuple[str | None, bytes]] = list(self._queue)
            self._queue.clear()
            error = self._error
        if error is not None and not out:
            raise TransportError(f"{self.description}: {error}")
        return out

    def write(self, data: bytes) -> None:
        raise TransportError("BLE bands take no commands from the agent")

    def close(self) -> None:
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        if loop is not None and stopping is not None:

            def stop() -> None:
                if not stopping.done():
                    stopping.set_result(None)

            # RuntimeError: the loop has already ended (the stack failed).
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop)
        thread.join(10.0)
        if thread.is_alive():
            log.warning("%s: the BLE thread did not stop within 10 s", self.description)
        self._thread = None
        self._loop = None
        self._stopping = None
        with self._cond:
            self._queue.clear()

    def source_state(self, source: str) -> SourceState | None:
        """A band's own link: connected or not, and its Battery Level (0x2A19) when read."""
        band = self.bands.get(source)
        if band is None:
            return None
        detail = (
            None
            if band.connected
            else (
                f"band not connected: {band.last_error or 'not heard yet (out of range, or off)'}"
            )
        )
        battery = float(band.battery_pct) if band.battery_pct is not None else None
        return SourceState(band.connected, battery, detail)

    @property
    def connected(self) -> list[str]:
        return sorted(a for a, b in self.bands.items() if b.connected)

    def links_per_controller(self) -> dict[str, int]:
        """How many bands each controller holds now."""
        return {r.spec: len(r.links) for r in list(self._radios)}

    # -- the stack's thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:  # anything the stack raises ends this link: the agent reopens
            log.debug("BLE central stopped", exc_info=True)
            self._fail(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        finally:
            for band in self.bands.values():
                band.connected = False
            self._ready.set()  # wakes open() when the stack failed before it was ready

    def _fail(self, error: str) -> None:
        with self._cond:
            if self._error is None:
                self._error = error
            self._cond.notify_all()

    async def _main(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        self._stopping = stopping = loop.create_future()
        self._claimed.clear()
        self._radios = []
        try:
            for i, spec in enumerate(self._specs):
                await self._power_on(i, spec)
            self._ready.set()
            watch: list[asyncio.Future[None]] = [stopping]
            watch += [r.transport.source.terminated for r in self._radios]
            while not stopping.done():
                await asyncio.wait(watch, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
                lost = [r.spec for r in self._radios if r.transport.source.terminated.done()]
                if lost and not stopping.done():
                    raise TransportError(f"HCI transport {lost[0]} closed")
                # Once a second: a scan that failed to restart after a connection or a drop
                # is started again here, so a missing band is never given up on.
                for radio in self._radios:
                    await self._scan(radio)
        finally:
            await self._shutdown()

    async def _power_on(self, index: int, spec: str) -> None:
        try:
            transport = await asyncio.wait_for(open_transport(spec), self._open_timeout_s)
        except (OSError, BaseBumbleError, ValueError, TimeoutError) as exc:
            raise TransportError(f"cannot open HCI transport {spec}: {exc}") from None
        # A fresh random static address each time: two boxes in one gym must not collide.
        device = Device.with_hci(
            f"campusedge-{index}",
            hci.Address.generate_static_address(),
            transport.source,
            transport.sink,
        )
        radio = _Radio(spec, transport, device)
        self._radios.append(radio)  # before powering on, so that _shutdown closes it
        device.on(device.EVENT_ADVERTISEMENT, lambda adv: self._seen(radio, adv))
        await asyncio.wait_for(device.power_on(), self._open_timeout_s)
        await self._scan(radio)

    def _wanted(self) -> bool:
        return any(a not in self._claimed for a in self.kit)

    async def _scan(self, radio: _Radio) -> None:
        # Passive: the address and the connectable flag are all the central needs, and it
        # costs the bands no scan responses.
        if (
            not radio.device.is_scanning
            and self._wanted()
            and not radio.connecting
            and len(radio.links) < self._max_connections
        ):
            try:
                await radio.device.start_scanning(active=False, filter_duplicates=False)
            except BaseBumbleError as exc:
                log.warning("%s: cannot start scanning (tried again in 1 s): %s", radio.spec, exc)

    def _seen(self, radio: _Radio, adv: Advertisement) -> None:
        address = adv.address.to_string(with_type_qualifier=False)
        if address not in self.kit:
            if adv.is_connectable and address not in self.strangers_seen:
                if len(self.strangers_seen) >= STRANGERS_KEPT:
                    self.strangers_seen.clear()  # phones rotate addresses: keep it bounded
                self.strangers_seen.add(address)
                log.debug("ignoring %s: not one of this kit's bands", address)
            return
        if (
            address in self._claimed
            or not adv.is_connectable
            or radio.connecting
            or len(radio.links) >= self._max_connections
        ):
            return
        self._claimed.add(address)
        radio.connecting = True
        asyncio.get_running_loop().create_task(self._connect(radio, address, adv.address))

    async def _connect(self, radio: _Radio, address: str, peer_address: hci.Address) -> None:
        band = self.bands[address]
        connection: Connection | None = None
        try:
            # Many controllers cannot scan and initiate at once.
            if radio.device.is_scanning:
                await radio.device.stop_scanning()
            connection = await radio.device.connect(peer_address, timeout=self._connect_timeout_s)
            connection.on(
                connection.EVENT_DISCONNECTION, lambda reason: self._lost(radio, address, reason)
            )
            radio.links[address] = connection
        except (BaseBumbleError, TimeoutError) as exc:
            band.last_error = f"connect: {exc}"
            self._claimed.discard(address)
        finally:
            radio.connecting = False
        try:
            if connection is not None:
                await self._subscribe(address, connection)
                band.connected = True
                band.connects += 1
                band.last_error = None
                log.info("%s: %s connected", radio.spec, address)
        except (BaseBumbleError, TimeoutError, LookupError) as exc:
            band.last_error = f"GATT: {exc}"
            log.warning("%s: %s: %s", radio.spec, address, band.last_error)
            if connection is not None and radio.links.get(address) is connection:
                await self._disconnect(connection)
                # The disconnection event may never come (a link already gone, a timeout):
                # free the band's claim and slot here as well; twice is harmless.
                radio.links.pop(address, None)
                self._claimed.discard(address)
        finally:
            await self._scan(radio)

    async def _subscribe(self, address: str, connection: Connection) -> None:
        peer = Peer(connection)
        p = self.profile
        services = await peer.discover_service(UUID.from_16_bits(p.service))
        if not services:
            raise LookupError(f"no {p.service_name} service (0x{p.service:04X})")
        chars = await peer.discover_characteristics(
            [UUID.from_16_bits(p.characteristic)], services[0]
        )
        if not chars:
            raise LookupError(
                f"no {p.characteristic_name} characteristic (0x{p.characteristic:04X})"
            )
        band = self.bands[address]

        def on_notification(value: bytes) -> None:
            band.notifications += 1
            with self._cond:
                if len(self._queue) >= self._queue_limit:
                    self._queue.popleft()
                    self.dropped += 1
                self._queue.append((address, bytes(value)))
                self._cond.notify()

        await peer.subscribe(chars[0], on_notification, prefer_notify=True)
        if self._read_battery:
            battery = await peer.discover_service(gatt.GATT_BATTERY_SERVICE)
            if battery:
                levels = await peer.discover_characteristics(
                    [gatt.GATT_BATTERY_LEVEL_CHARACTERISTIC], battery[0]
                )
                if levels:
                    value = await peer.read_value(levels[0])
                    band.battery_pct = value[0] if value else None

    def _lost(self, radio: _Radio, address: str, reason: int) -> None:
        log.info("%s: %s disconnected (reason 0x%02X)", radio.spec, address, reason)
        radio.links.pop(address, None)
        self.bands[address].connected = False
        # 0x08 is a supervision timeout: the band went out of range or its battery died.
        self.bands[address].last_error = f"link lost (HCI reason 0x{reason:02X})"
        self._claimed.discard(address)
        if self._stopping is not None and not self._stopping.done():
            asyncio.get_running_loop().create_task(self._scan(radio))

    async def _disconnect(self, connection: Connection) -> None:
        # The link is going away in any case.
        with contextlib.suppress(BaseBumbleError, TimeoutError, TransportLostError):
            await asyncio.wait_for(connection.disconnect(), 2.0)

    async def _shutdown(self) -> None:
        for radio in self._radios:
            if not radio.transport.source.terminated.done():
                for connection in list(radio.links.values()):
                    await self._disconnect(connection)
            radio.links.clear()
            await radio.transport.close()
        self._radios = []
