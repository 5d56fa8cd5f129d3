"""What a byte transport offers the agent: open, read chunks (tagged by source), write, close."""

from __future__ import annotations

from typing import Protocol


class TransportError(OSError):
    """The link to a device failed; the agent closes the transport and opens it again."""


class ByteTransport(Protocol):
    """A link to one device, or to a radio that carries many (BLE adapter, rope base station)."""

    def open(self) -> None: ...

    def read(self, timeout_s: float) -> list[tuple[str | None, bytes]]:
        """Chunks received within *timeout_s*; the source is a BLE address or None."""
        ...

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...

    @property
    def description(self) -> str: ...
