"""BLE notifications: the adapter seam, and the simulated adapter the band simulator feeds.

A real adapter (BlueZ through bleak) subscribes to characteristic 0x2A37 on every band of a
class kit and hands each notification to the agent with the band's address; the simulated
adapter receives the same notification bytes from simulators/hr_band.py over a local TCP
stream of records: length u8 (6 + n), the 6-byte address (most significant byte first), then
the n notification bytes. Real BLE is optional (bleak is not a dependency).
"""

from __future__ import annotations

import socket

from edge.transports.base import TransportError

RECORD_ADDRESS_BYTES = 6


def format_address(raw: bytes) -> str:
    return ":".join(f"{b:02X}" for b in raw)


class SimulatedBleAdapter:
    """Receives (address, notification) records from the band simulator."""

    def __init__(self, host: str, port: int) -> None:
        self._addr = (host, port)
        self._sock: socket.socket | None = None
        self._buf = bytearray()

    @property
    def description(self) -> str:
        return f"simulated BLE adapter at {self._addr[0]}:{self._addr[1]}"

    def open(self) -> None:
        try:
            self._sock = socket.create_connection(self._addr, timeout=5)
        except OSError as exc:
            raise TransportError(f"cannot connect to the {self.description}: {exc}") from None
        self._buf.clear()

    def read(self, timeout_s: float) -> list[tuple[str | None, bytes]]:
        if self._sock is None:
            raise TransportError(f"{self.description} is not connected")
        self._sock.settimeout(timeout_s)
        try:
            data = self._sock.recv(65536)
        except TimeoutError:
            return []
        except OSError as exc:
            raise TransportError(f"{self.description}: {exc}") from None
        if not data:
            raise TransportError(f"{self.description}: the simulator closed the connection")
        self._buf += data
        out: list[tuple[str | None, bytes]] = []
        while self._buf and len(self._buf) >= 1 + self._buf[0]:
            size = self._buf[0]
            if size <= RECORD_ADDRESS_BYTES:
                raise TransportError(f"{self.description}: record of {size} bytes is too short")
            record = bytes(self._buf[1:1 + size])
            del self._buf[:1 + size]
            out.append((format_address(record[:RECORD_ADDRESS_BYTES]),
                        record[RECORD_ADDRESS_BYTES:]))
        return out

    def write(self, data: bytes) -> None:
        raise TransportError("BLE bands take no commands from the agent")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
