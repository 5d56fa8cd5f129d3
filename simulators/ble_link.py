"""Heart-rate bands on a virtual BLE link: bumble GATT peripherals and a radio for the agent.

Each simulated band is a bumble Device on its own virtual controller: a GATT server with the
Heart Rate Service (0x180D: Heart Rate Measurement 0x2A37, notify) and the Battery Service
(0x180F: Battery Level 0x2A19, read), advertising as a connectable peripheral at the band's
random static address. One more virtual controller on the same link is the agent's radio,
reached over an HCI transport such as `tcp-server:127.0.0.1:0`: the agent's BLE central then
runs HCI, L2CAP, ATT and GATT against these peripherals exactly as against a real dongle.
The notification bytes come from simulators.hr_band.Band, as on the `ble_sim` TCP feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from bumble import data_types, gatt, hci
from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Connection, Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport import open_transport
from bumble.transport.common import AsyncPipeSink, Transport
from bumble.transport.tcp_server import open_tcp_server_transport_with_socket

from simulators.hr_band import Band

HEART_RATE_SERVICE = 0x180D
HEART_RATE_MEASUREMENT = 0x2A37
BATTERY_SERVICE = 0x180F
BATTERY_LEVEL = 0x2A19
MODEL_NAME = "CE-HRB40"

Event = Callable[[str, dict[str, Any]], None]


@dataclass
class Outage:
    """Band *index* leaves radio range for *for_s* seconds, *at_s* seconds after a central
    first subscribed to it (counting from then keeps the schedule independent of how long the
    agent takes to start)."""

    index: int
    at_s: float
    for_s: float

    @classmethod
    def parse(cls, text: str) -> Outage:
        """`INDEX:AT:FOR`, e.g. `2:3:1.5`."""
        try:
            index, at_s, for_s = text.split(":")
            out = cls(int(index), float(at_s), float(for_s))
        except ValueError:
            raise ValueError(f"outage {text!r} is not INDEX:AT_S:FOR_S") from None
        if out.at_s < 0 or out.for_s <= 0:
            raise ValueError(f"outage {text!r}: AT_S must be >= 0 and FOR_S positive")
        return out


@dataclass
class BlePeripheralBand:
    """One band as a GATT peripheral on the link."""

    band: Band
    device: Device
    measurement: gatt.Characteristic[bytes]
    battery: gatt.Characteristic[bytes]
    connections: int = 0
    notifications: int = 0
    in_range: bool = True
    # ATT bearers (one per connected central) that enabled notifications in the CCCD.
    subscribers: set[object] = field(default_factory=set)
    first_subscribed_s: float | None = None


def _advertising_data(name: str) -> bytes:
    # Flags + the Heart Rate service UUID + the name: what a central filters a scan on.
    return bytes(
        AdvertisingData(
            [
                data_types.Flags(
                    AdvertisingData.Flags.LE_GENERAL_DISCOVERABLE_MODE
                    | AdvertisingData.Flags.BR_EDR_NOT_SUPPORTED
                ),
                data_types.CompleteListOf16BitServiceUUIDs([gatt.GATT_HEART_RATE_SERVICE]),
                data_types.CompleteLocalName(name),
            ]
        )
    )


def _battery_byte(band: Band) -> bytes:
    return bytes([max(0, min(100, round(band.battery_pct)))])


class BleBandLink:
    """N band peripherals and one agent-facing controller on one virtual link."""

    def __init__(self, bands: list[Band], on_event: Event | None = None) -> None:
        self.bands = bands
        self._on_event = on_event or (lambda _name, _fields: None)
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self.peripherals: list[BlePeripheralBand] = []
        self._radios: list[Controller] = []
        self._transports: list[Transport] = []
        self.hci_ports: list[int | None] = []

    def _event(self, name: str, **fields: Any) -> None:
        self._on_event(name, fields)

    async def start(self, hci_specs: list[str]) -> None:
        """Power the bands on, start advertising, and open one agent radio per HCI transport."""
        for band in self.bands:
            self.peripherals.append(await self._start_band(band))
        for i, spec in enumerate(hci_specs):
            transport = await self._open_hci(spec)
            self._transports.append(transport)
            self._radios.append(
                Controller(
                    f"agent-radio-{i}",
                    host_source=transport.source,
                    host_sink=transport.sink,
                    link=self.link,
                )
            )

    async def _open_hci(self, spec: str) -> Transport:
        if not (spec.startswith("tcp-server:") and spec.endswith(":0")):
            self.hci_ports.append(None)
            return await open_transport(spec)
        # Port 0: let the system pick a free one, reported in the `ready` event.
        host = spec.removeprefix("tcp-server:").rsplit(":", 1)[0]
        sock = socket.create_server((host, 0))
        # HCI is many small request/response packets: Nagle's algorithm against the peer's
        # delayed ACK would add ~40 ms to each ATT round trip (accepted sockets inherit the
        # option on Linux).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.hci_ports.append(sock.getsockname()[1])
        return await open_tcp_server_transport_with_socket(sock)

    @property
    def hci_port(self) -> int | None:
        """The port of the first agent radio (when the system picked it)."""
        return self.hci_ports[0] if self.hci_ports else None

    async def _start_band(self, band: Band) -> BlePeripheralBand:
        controller = Controller(f"band-{band.index}", link=self.link)
        name = f"{MODEL_NAME}-{band.index:04d}"
        device = Device(
            name=name,
            address=hci.Address(band.address),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        measurement: gatt.Characteristic[bytes] = gatt.Characteristic(
            gatt.GATT_HEART_RATE_MEASUREMENT_CHARACTERISTIC,
            gatt.Characteristic.Properties.NOTIFY,
            gatt.Characteristic.Permissions(0),
            b"",
        )
        battery: gatt.Characteristic[bytes] = gatt.Characteristic(
            gatt.GATT_BATTERY_LEVEL_CHARACTERISTIC,
            gatt.Characteristic.Properties.READ,
            gatt.Characteristic.Permissions.READABLE,
            _battery_byte(band),
        )
        device.add_services(
            [
                gatt.Service(gatt.GATT_HEART_RATE_SERVICE, [measurement]),
                gatt.Service(gatt.GATT_BATTERY_SERVICE, [battery]),
            ]
        )
        peripheral = BlePeripheralBand(band, device, measurement, battery)

        def on_connection(connection: Connection) -> None:
            peripheral.connections += 1
            self._event("connected", address=band.address, index=band.index)

            def on_disconnection(reason: int) -> None:
                peripheral.subscribers.clear()
                self._event("disconnected", address=band.address, index=band.index, reason=reason)
                if peripheral.in_range:
                    # A band advertises again as soon as its central lets go of it.
                    asyncio.get_running_loop().create_task(self._advertise(peripheral))

            connection.on(connection.EVENT_DISCONNECTION, on_disconnection)

        def on_subscription(bearer: object, notify: bool, indicate: bool) -> None:
            if notify:
                peripheral.subscribers.add(bearer)
                if peripheral.first_subscribed_s is None:
                    peripheral.first_subscribed_s = time.monotonic()
                self._event("subscribed", address=band.address, index=band.index)
            else:
                peripheral.subscribers.discard(bearer)

        device.on(device.EVENT_CONNECTION, on_connection)
        measurement.on(measurement.EVENT_SUBSCRIPTION, on_subscription)
        await device.power_on()
        device.advertising_data = _advertising_data(name)
        await self._advertise(peripheral)
        return peripheral

    async def _advertise(self, peripheral: BlePeripheralBand) -> None:
        if not peripheral.device.is_advertising:
            await peripheral.device.start_advertising(
                advertising_interval_min=20.0, advertising_interval_max=20.0
            )

    async def leave_range(self, peripheral: BlePeripheralBand) -> None:
        """The band goes out of radio range: its link drops and it is not seen advertising."""
        peripheral.in_range = False
        self._event("out_of_range", address=peripheral.band.address, index=peripheral.band.index)
        if peripheral.device.is_advertising:
            await peripheral.device.stop_advertising()
        for connection in list(peripheral.device.connections.values()):
            await connection.disconnect()

    async def return_to_range(self, peripheral: BlePeripheralBand) -> None:
        peripheral.in_range = True
        self._event("in_range", address=peripheral.band.address, index=peripheral.band.index)
        await self._advertise(peripheral)

    async def notify(self, peripheral: BlePeripheralBand, value: bytes) -> bool:
        """Send one 0x2A37 notification to the subscribed central; False when none listens."""
        peripheral.battery.value = _battery_byte(peripheral.band)
        if not peripheral.subscribers:
            return False
        await peripheral.device.notify_subscribers(peripheral.measurement, value)
        peripheral.notifications += 1
        return True

    async def close(self) -> None:
        for peripheral in self.peripherals:
            for connection in list(peripheral.device.connections.values()):
                with contextlib.suppress(TimeoutError, hci.HCI_Error):
                    await asyncio.wait_for(connection.disconnect(), 1.0)
        for transport in self._transports:
            await transport.close()


async def serve(
    bands: list[Band],
    hci_specs: list[str],
    *,
    period_s: float,
    activity: float,
    duration_s: float | None,
    outages: list[Outage],
    rng: random.Random,
    on_event: Event,
    trace: int | None = None,
) -> BleBandLink:
    """Run the bands until *duration_s* (or forever): each notifies every *period_s*.

    Each notification of band number *trace* is announced first as a `sent` event with its
    bytes and the wall-clock time, from which `campusedge bench ble` measures latency.
    """
    link = BleBandLink(bands, on_event)
    await link.start(hci_specs)
    on_event(
        "ready",
        {
            "hci_port": link.hci_port,
            "hci_ports": link.hci_ports,
            "bands": [p.band.address for p in link.peripherals],
        },
    )
    start = time.monotonic()
    due = [rng.uniform(0, period_s) for _ in link.peripherals]
    pending = list(outages)
    back: list[tuple[float, BlePeripheralBand]] = []
    try:
        while duration_s is None or time.monotonic() - start < duration_s:
            t = time.monotonic() - start
            for outage in list(pending):
                peripheral = link.peripherals[outage.index]
                since = peripheral.first_subscribed_s
                if since is not None and time.monotonic() - since >= outage.at_s:
                    pending.remove(outage)
                    await link.leave_range(peripheral)
                    back.append((t + outage.for_s, peripheral))
            for when, peripheral in [b for b in back if b[0] <= t]:
                back.remove((when, peripheral))
                await link.return_to_range(peripheral)
            for i, peripheral in enumerate(link.peripherals):
                if due[i] > t:
                    continue
                due[i] += period_s
                value = peripheral.band.step(period_s, activity)
                if peripheral.in_range:
                    if i == trace and peripheral.subscribers:
                        on_event("sent", {"hex": value.hex(), "t": time.time()})
                    await link.notify(peripheral, value)
            next_due = min(due) if due else t + period_s
            await asyncio.sleep(max(0.0, min(0.05, next_due - t)))
    finally:
        await link.close()
    return link


class ThreadedBandLink:
    """A BleBandLink on an event loop of its own thread, for the synchronous scenarios."""

    def __init__(self, bands: list[Band], hci_spec: str = "tcp-server:127.0.0.1:0") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ble-link", daemon=True)
        self._thread.start()
        self.link = BleBandLink(bands)
        self._call(self.link.start([hci_spec]), 30)
        self.hci_port = self.link.hci_port
        self.in_range = True

    def _call(self, coro: Coroutine[Any, Any, Any], timeout_s: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    @property
    def subscribed(self) -> int:
        return sum(bool(p.subscribers) for p in self.link.peripherals)

    def notify(self, index: int, value: bytes) -> None:
        """Queue band *index*'s notification (dropped while out of range, as over the air)."""
        if self.in_range:
            asyncio.run_coroutine_threadsafe(
                self.link.notify(self.link.peripherals[index], value), self._loop
            )

    def set_in_range(self, up: bool) -> None:
        """All bands leave radio range (their links drop) or come back."""
        if up == self.in_range:
            return
        self.in_range = up
        for p in self.link.peripherals:
            self._call(self.link.return_to_range(p) if up else self.link.leave_range(p), 10)

    def close(self) -> None:
        try:
            self._call(self.link.close(), 10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
