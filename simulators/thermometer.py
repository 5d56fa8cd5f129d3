"""Simulated handheld IR thermometers: 0x2A1C Temperature Measurement indications."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from drivers.thermometer import TemperatureType, encode

ADDRESS_PREFIX = "CE:7E:00:00"


def address(index: int) -> str:
    """The BLE address of simulated thermometer number *index* (0-65535)."""
    return f"{ADDRESS_PREFIX}:{index >> 8:02X}:{index & 0xFF:02X}"


@dataclass
class HandheldThermometer:
    """A forehead or ear thermometer used on one child after another at a morning check."""

    rng: random.Random
    fahrenheit: bool = False
    # Whether the phone app ever set its clock: without, it sends no time stamp.
    clock: datetime | None = None
    site: TemperatureType = TemperatureType.BODY
    fever_share: float = 0.05

    def measure(self) -> bytes:
        """The next child's measurement, as the indication bytes."""
        celsius = self.rng.gauss(36.6, 0.25)
        if self.rng.random() < self.fever_share:
            celsius = self.rng.uniform(37.5, 39.5)
        value = celsius * 9 / 5 + 32 if self.fahrenheit else celsius
        stamp = None
        if self.clock is not None:
            self.clock += timedelta(seconds=self.rng.uniform(4, 10))
            stamp = self.clock.replace(microsecond=0)
        return encode(
            round(value, 1), fahrenheit=self.fahrenheit, timestamp=stamp, temperature_type=self.site
        )


def sample_frames(rng: random.Random) -> list[bytes]:
    """A few measurements in each form the flags allow, for the driver contract test."""
    forms = [
        HandheldThermometer(rng),
        HandheldThermometer(rng, fahrenheit=True, site=TemperatureType.EAR),
        HandheldThermometer(rng, clock=datetime(2026, 9, 1, 7, 30), site=TemperatureType.TYMPANUM),
    ]
    return [form.measure() for form in forms for _ in range(3)]
