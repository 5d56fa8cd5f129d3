"""What every driver provides: its config schema, a framer for byte streams, and pure codecs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from campusedge.contract import Event, TimeQuality
from campusedge.contract import Reading as Reading
from campusedge.topics import DeviceKind
from campusedge.units import Metric, Unit, UnitError, normalize


class DecodeError(ValueError):
    """A frame is truncated, corrupted or not of this protocol; the caller counts and skips it."""


class DriverConfig(BaseModel):
    """Base of every driver's config: strict, so a typo in a firmware YAML fails at start-up."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Decoded:
    """What one frame said about one device.

    `source` names the device inside the transport when one transport carries many (the rope
    number behind a base station); None means the device the transport itself stands for (a
    BLE band's address, a gate's serial port). `device_time_s` is the device's own clock in
    seconds (Unix time for devices with a real-time clock, uptime otherwise), for clock-offset
    estimation; `frame_id` is the device's own frame counter, used to drop radio retransmissions.
    """

    source: str | None = None
    readings: list[Reading] = field(default_factory=list)
    event: Event | None = None
    device_time_s: float | None = None
    time_quality: TimeQuality | None = None
    frame_id: int | None = None


class Framer(Protocol):
    """Splits a byte stream into frames and resynchronises after garbage."""

    def feed(self, data: bytes) -> list[bytes]: ...

    @property
    def discarded_bytes(self) -> int: ...

    @property
    def corrupted_frames(self) -> int:
        """Frame candidates dropped whole by the framer (bad CRC, overlong line)."""
        ...


class Driver(Protocol):
    """A byte-stream device protocol: registered by one line in drivers.registry."""

    name: ClassVar[str]
    kind: ClassVar[DeviceKind]
    Config: ClassVar[type[DriverConfig]]

    def framer(self, cfg: DriverConfig) -> Framer: ...

    def decode(self, frame: bytes, cfg: DriverConfig) -> list[Decoded]: ...


class WholeFrames:
    """Framer for transports that already deliver whole frames (one BLE notification each)."""

    def __init__(self) -> None:
        self._discarded = 0

    def feed(self, data: bytes) -> list[bytes]:
        return [data] if data else []

    @property
    def discarded_bytes(self) -> int:
        return self._discarded

    @property
    def corrupted_frames(self) -> int:
        return 0


def reading(metric: Metric, value: float, unit: Unit, where: str) -> Reading:
    """A reading checked against its metric's plausible range, else DecodeError naming *where*.

    Checking here, rather than only at the gateway, lets the edge agent count a corrupted frame
    as a decode error instead of publishing a value the gateway would dead-letter.
    """
    try:
        normalize(metric, float(value), unit)
    except UnitError as exc:
        raise DecodeError(f"{where}: {exc}") from None
    return Reading(metric=metric, value=value, unit=unit)


def need(frame: bytes, size: int, what: str) -> None:
    """Raise DecodeError unless *frame* holds at least *size* bytes."""
    if len(frame) < size:
        raise DecodeError(f"{what}: frame of {len(frame)} bytes is truncated, need {size}")
