"""Devices that speak their line protocol over a TCP connection (networked gates)."""

from __future__ import annotations

import socket

from edge.transports.base import TransportError


class TcpTransport:
    """A byte stream from a device (or a simulator) at host:port."""

    def __init__(self, host: str, port: int) -> None:
        self._addr = (host, port)
        self._sock: socket.socket | None = None

    @property
    def description(self) -> str:
        return f"tcp {self._addr[0]}:{self._addr[1]}"

    def open(self) -> None:
        try:
            self._sock = socket.create_connection(self._addr, timeout=5)
        except OSError as exc:
            raise TransportError(f"cannot connect to {self.description}: {exc}") from None

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
            raise TransportError(f"{self.description}: the other end closed the connection")
        return [(None, data)]

    def write(self, data: bytes) -> None:
        if self._sock is None:
            raise TransportError(f"{self.description} is not connected")
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise TransportError(f"{self.description}: {exc}") from None

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
