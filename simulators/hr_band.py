"""Simulated heart-rate bands: a simple physiology model sending 0x2A37 notification bytes."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from drivers.hr_band import Measurement, encode

ADDRESS_PREFIX = "CE:5E:00:00"


def address(index: int) -> str:
    """The BLE address of simulated band number *index* (0-65535)."""
    return f"{ADDRESS_PREFIX}:{index >> 8:02X}:{index & 0xFF:02X}"


@dataclass
class Band:
    """One band on one student: heart rate follows the activity level with some noise."""

    index: int
    rng: random.Random
    resting_bpm: float = 85.0
    max_bpm: float = 200.0
    heart_rate: float = 85.0
    energy_kj: float = 0.0
    battery_pct: float = 100.0
    contact: bool = True
    _beat_phase: float = field(default=0.0, repr=False)

    @property
    def address(self) -> str:
        return address(self.index)

    def step(self, dt_s: float, activity: float) -> bytes:
        """Advance *dt_s* seconds at *activity* (0 rest .. 1 all-out); the notification bytes."""
        target = self.resting_bpm + activity * (self.max_bpm - self.resting_bpm)
        # Heart rate approaches its target with a time constant of about 20 s.
        self.heart_rate += (target - self.heart_rate) * min(1.0, dt_s / 20.0)
        self.heart_rate += self.rng.gauss(0, 1.5)
        self.heart_rate = max(40.0, min(self.max_bpm + 10, self.heart_rate))
        self.energy_kj += dt_s * (0.1 + 0.9 * activity) * 0.5
        self.battery_pct = max(0.0, self.battery_pct - dt_s * 0.0005)
        rr = []
        beats = self.heart_rate / 60.0 * dt_s + self._beat_phase
        for _ in range(min(int(beats), 4)):
            rr.append(max(1, round(60.0 / self.heart_rate * 1024 + self.rng.gauss(0, 10))))
        self._beat_phase = beats - int(beats)
        return encode(
            Measurement(
                heart_rate=round(self.heart_rate) if self.contact else 0,
                contact_supported=True,
                contact_detected=self.contact,
                energy_kj=min(0xFFFF, int(self.energy_kj)),
                rr_1024=rr if self.contact else [],
            )
        )


def sample_frames(rng: random.Random, n: int = 20) -> list[bytes]:
    """Notifications of a band going from rest to hard exercise (for contract tests)."""
    band = Band(index=rng.randrange(256), rng=rng)
    return [band.step(1.0, activity=i / n) for i in range(n)]
