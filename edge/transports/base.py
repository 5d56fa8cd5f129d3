"""What a byte transport offers the agent: open, read chunks (tagged by source), write, close."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SourceState:
    """The link to one device behind a shared radio (a BLE band), for that device's status.

    A transport that carries many devices may offer `source_state(source) -> SourceState |
    None`; the agent then reports each device's own link instead of the radio's.
    """

    online: bool
    battery_pct: float | None = None
    detail: str | None = None


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
