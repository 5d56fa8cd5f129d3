"""A simulated infrared temperature gate: students pass, a few have a fever."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from drivers import temp_gate

FLAG_AT_C = 37.3  # infrared screen threshold (reference: health_and_protocols.json)


@dataclass
class Gate:
    """Measures passing students; its clock may be skewed from true time."""

    rng: random.Random
    clock_skew_s: float = 0.0
    ambient_c: float = 16.0
    seq: int = 0

    def passing(
        self, student: int, now: datetime, fever: bool, subject: str | None = None
    ) -> bytes:
        """The line the gate sends when *student* walks through at *now* (true time); *subject*
        is their card or face id (a roster's), else one made up from the number."""
        self.seq += 1
        site = "F" if self.rng.random() < 0.7 else "W"
        if fever:
            temp = self.rng.uniform(37.5, 39.2)
        else:
            temp = self.rng.gauss(36.4 if site == "F" else 36.2, 0.25)
            temp = min(temp, FLAG_AT_C - 0.1)
        self.ambient_c += self.rng.gauss(0, 0.05)
        if subject is None:
            subject = (
                f"{'C' if self.rng.random() < 0.8 else 'F'}-{student * 2654435761 % 2**32:08X}"
            )
        decision = "D" if temp >= FLAG_AT_C else "P"
        clock = now + timedelta(seconds=self.clock_skew_s)
        return temp_gate.encode(self.seq, clock, subject, site, temp, self.ambient_c, decision)


def sample_frames(rng: random.Random, n: int = 20) -> list[bytes]:
    gate = Gate(rng)
    start = datetime(2026, 9, 1, 7, 20, tzinfo=UTC)
    return [gate.passing(i, start + timedelta(seconds=3 * i), fever=i % 7 == 0) for i in range(n)]
