"""Handheld thermometers on a virtual BLE link: bumble GATT peripherals and a radio for the agent.

Each thermometer is a bumble Device on its own virtual controller with the Health Thermometer
Service (0x1809: Temperature Measurement 0x2A1C, indicate only, as the service specification
requires), advertising as a connectable peripheral. One more virtual controller on the link is
the agent's radio, reached over an HCI transport (`tcp-server:127.0.0.1:0` picks a free port):
the agent's BLE central then runs HCI, ATT and GATT against them as against a real dongle.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from bumble import data_types, gatt, hci
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink, Transport
from bumble.transport.tcp_server import open_tcp_server_transport_with_socket

from drivers.thermometer import HEALTH_THERMOMETER_SERVICE, TEMPERATURE_MEASUREMENT

MODEL_NAME = "CE-IRT10"


@dataclass
class PeripheralThermometer:
    """One thermometer as a GATT peripheral on the link."""

    address: str
    device: Device
    measurement: gatt.Characteristic[bytes]
    subscribers: set[object] = field(default_factory=set)
    indications: int = 0


class ThreadedThermometerLink:
    """Thermometers and one agent radio on a virtual link, run by an event loop of its own."""

    def __init__(self, addresses: list[str]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="ble-thermometers", daemon=True
        )
        self._thread.start()
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self.thermometers: list[PeripheralThermometer] = []
        self._transport: Transport | None = None
        self.hci_port: int = self._call(self._start(addresses), 30)

    def _call(self, coro: Coroutine[Any, Any, Any], timeout_s: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    async def _start(self, addresses: list[str]) -> int:
        for i, address in enumerate(addresses):
            self.thermometers.append(await self._thermometer(i, address))
        sock = socket.create_server(("127.0.0.1", 0))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        port: int = sock.getsockname()[1]
        self._transport = await open_tcp_server_transport_with_socket(sock)
        Controller(
            "agent-radio",
            host_source=self._transport.source,
            host_sink=self._transport.sink,
            link=self.link,
        )
        return port

    async def _thermometer(self, index: int, address: str) -> PeripheralThermometer:
        controller = Controller(f"thermometer-{index}", link=self.link)
        name = f"{MODEL_NAME}-{index:04d}"
        device = Device(
            name=name,
            address=hci.Address(address),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        measurement: gatt.Characteristic[bytes] = gatt.Characteristic(
            UUID.from_16_bits(TEMPERATURE_MEASUREMENT),
            gatt.Characteristic.Properties.INDICATE,
            gatt.Characteristic.Permissions(0),
            b"",
        )
        device.add_services(
            [gatt.Service(UUID.from_16_bits(HEALTH_THERMOMETER_SERVICE), [measurement])]
        )
        peripheral = PeripheralThermometer(address, device, measurement)

        def on_subscription(bearer: object, notify: bool, indicate: bool) -> None:
            if indicate:
                peripheral.subscribers.add(bearer)
            else:
                peripheral.subscribers.discard(bearer)

        measurement.on(measurement.EVENT_SUBSCRIPTION, on_subscription)
        await device.power_on()
        device.advertising_data = bytes(
            AdvertisingData(
                [
                    data_types.Flags(
                        AdvertisingData.Flags.LE_GENERAL_DISCOVERABLE_MODE
                        | AdvertisingData.Flags.BR_EDR_NOT_SUPPORTED
                    ),
                    data_types.CompleteListOf16BitServiceUUIDs(
                        [UUID.from_16_bits(HEALTH_THERMOMETER_SERVICE)]
                    ),
                    data_types.CompleteLocalName(name),
                ]
            )
        )
        await device.start_advertising(advertising_interval_min=20.0, advertising_interval_max=20.0)
        return peripheral

    def subscribed(self, index: int) -> bool:
        return bool(self.thermometers[index].subscribers)

    def indicate(self, index: int, value: bytes) -> None:
        """Send one 0x2A1C indication; waits for the central's confirmation, as ATT does."""
        peripheral = self.thermometers[index]
        self._call(peripheral.device.indicate_subscribers(peripheral.measurement, value), 10)
        peripheral.indications += 1

    def close(self) -> None:
        async def stop() -> None:
            for p in self.thermometers:
                for connection in list(p.device.connections.values()):
                    with contextlib.suppress(TimeoutError, hci.HCI_Error):
                        await asyncio.wait_for(connection.disconnect(), 1.0)
            if self._transport is not None:
                await self._transport.close()

        try:
            self._call(stop(), 10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
