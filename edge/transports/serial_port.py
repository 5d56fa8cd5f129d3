"""Serial devices through pyserial (USB-serial adapters, RS-232 ports, pty pairs in tests)."""

from __future__ import annotations

import serial

from edge.transports.base import TransportError


class SerialTransport:
    def __init__(self, port: str, baudrate: int) -> None:
        self._port = port
        self._baudrate = baudrate
        self._serial: serial.Serial | None = None

    @property
    def description(self) -> str:
        return f"serial {self._port} at {self._baudrate} baud"

    def open(self) -> None:
        try:
            self._serial = serial.Serial(self._port, self._baudrate, timeout=0.1)
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"cannot open {self.description}: {exc}") from None

    def read(self, timeout_s: float) -> list[tuple[str | None, bytes]]:
        if self._serial is None:
            raise TransportError(f"{self.description} is not open")
        try:
            self._serial.timeout = timeout_s
            first = self._serial.read(1)
            if not first:
                return []
            waiting = self._serial.in_waiting
            rest = self._serial.read(waiting) if waiting else b""
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"{self.description}: {exc}") from None
        return [(None, bytes(first) + bytes(rest))]

    def write(self, data: bytes) -> None:
        if self._serial is None:
            raise TransportError(f"{self.description} is not open")
        try:
            self._serial.write(data)
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"{self.description}: {exc}") from None

    def close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            finally:
                self._serial = None
