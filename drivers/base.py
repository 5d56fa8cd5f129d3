"""What every driver provides: its config schema, a framer for byte streams, and pure codecs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from campusedge.contract import Event, TimeQuality
from campusedge.contract import Reading as Reading
from campusedge.topics import DeviceKind


class DecodeError(ValueError):
    """A frame is truncated, corrupted or not of this protocol; the caller counts and skips it."""


class DriverConfig(BaseModel):
    """Base of every driver's config: strict, so a typo in a firmware YAML fails at start-up."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Decoded:
    """What one frame said about one device.

    `device_id` is the device the values belong to (one base station frames many ropes);
    `device_time_s` is the device's own clock, when it has one, for clock-offset estimation.
    """

    device_id: str
    readings: list[Reading] = field(default_factory=list)
    event: Event | None = None
    device_time_s: float | None = None
    time_quality: TimeQuality | None = None


class Framer(Protocol):
    """Splits a byte stream into frames and resynchronises after garbage."""

    def feed(self, data: bytes) -> list[bytes]: ...

    @property
    def discarded_bytes(self) -> int: ...


class Driver(Protocol):
    """A device protocol: registered by one line in drivers.registry."""

    name: ClassVar[str]
    kind: ClassVar[DeviceKind]
    Config: ClassVar[type[DriverConfig]]

    def framer(self, cfg: DriverConfig) -> Framer: ...

    def decode(self, frame: bytes, cfg: DriverConfig) -> list[Decoded]: ...
