"""The drivers the edge agent can run, by the name firmware configs use (`driver: …`)."""

from __future__ import annotations

from drivers.base import Driver
from drivers.hr_band import HrBand
from drivers.jump_rope import JumpRope
from drivers.pe_station import PeStationCamera
from drivers.temp_gate import TempGate
from drivers.vision_screener import VisionScreener

# Byte-stream protocols: framer + decoder.
DRIVERS: dict[str, Driver] = {
    "hr_band": HrBand(),
    "jump_rope": JumpRope(),
    "temp_gate": TempGate(),
    "vision_screener": VisionScreener(),
}

# Frame sources without a byte protocol (decoded by on-device inference, not by a codec).
CAMERAS: dict[str, PeStationCamera] = {
    "pe_station": PeStationCamera(),
}


class UnknownDriverError(KeyError):
    """A config names a driver that is not registered."""


def config_model(name: str) -> type[object]:
    """The pydantic Config class of driver *name*."""
    if name in DRIVERS:
        return DRIVERS[name].Config
    if name in CAMERAS:
        return CAMERAS[name].Config
    known = ", ".join(sorted([*DRIVERS, *CAMERAS]))
    raise UnknownDriverError(f"unknown driver {name!r}; known drivers: {known}")
