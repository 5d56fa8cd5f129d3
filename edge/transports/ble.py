"""The simulated BLE adapter (`type: ble_sim`): band notifications as records over TCP.

The real radio is edge/transports/ble_central.py (`type: ble`), a GATT central on bumble that
subscribes to characteristic 0x2A37 on every band of the kit and hands each notification to
the agent with the band's address. This adapter hands on the same (address, notification)
pairs, received from the lesson scenario (simulators/hr_band.py) over a local TCP stream of
records: length u8 (6 + n), the 6-byte address (most significant byte first), then the n
notification bytes. It stays for the scenarios and benchmarks, which run 40 bands at 6x
speed with ropes in one process.
"""

from __future__ import annotations

from edge.transports.base import TransportError
from edge.transports.tcp_stream import TcpTransport

RECORD_ADDRESS_BYTES = 6


def format_address(raw: bytes) -> str:
    return ":".join(f"{b:02X}" for b in raw)


class SimulatedBleAdapter(TcpTransport):
    """Receives (address, notification) records from the band simulator over TCP."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self._buf = bytearray()

    @property
    def description(self) -> str:
        return f"simulated BLE adapter at {self._addr[0]}:{self._addr[1]}"

    def open(self) -> None:
        super().open()
        self._buf.clear()

    def read(self, timeout_s: float) -> list[tuple[str | None, bytes]]:
        for _, data in super().read(timeout_s):
            self._buf += data
        out: list[tuple[str | None, bytes]] = []
        while self._buf and len(self._buf) >= 1 + self._buf[0]:
            size = self._buf[0]
            if size <= RECORD_ADDRESS_BYTES:
                raise TransportError(f"{self.description}: record of {size} bytes is too short")
            record = bytes(self._buf[1 : 1 + size])
            del self._buf[: 1 + size]
            out.append(
                (format_address(record[:RECORD_ADDRESS_BYTES]), record[RECORD_ADDRESS_BYTES:])
            )
        return out

    def write(self, data: bytes) -> None:
        raise TransportError("BLE bands take no commands from the agent")
