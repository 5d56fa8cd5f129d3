"""A simulated vision screener: per-student acuity and autorefraction records."""

from __future__ import annotations

import random
from dataclasses import dataclass

from drivers.vision_screener import Record, Refraction, encode


def _quarter(v: float) -> float:
    return round(v * 4) / 4


@dataclass
class Screener:
    """Produces records of a school population where some children are myopic."""

    rng: random.Random
    myopia_rate: float = 0.35
    record_no: int = 0

    def _eye(self, myopic: bool) -> tuple[float, Refraction]:
        sphere = _quarter(self.rng.uniform(-5.0, -0.75) if myopic else self.rng.uniform(-0.25, 1.5))
        cyl = _quarter(-abs(self.rng.gauss(0, 0.4)))
        axis = self.rng.randrange(1, 181)
        se = sphere + cyl / 2
        # A rough fall of acuity with myopia: about 0.1 log units per 0.5 D beyond -0.25 D.
        acuity = 5.0 if se > -0.25 else max(3.6, 5.0 + round(se * 0.2, 1))
        acuity = min(5.3, max(3.0, round(acuity + self.rng.choice((-0.1, 0.0, 0.0, 0.1)), 1)))
        return acuity, Refraction(sphere, cyl, axis)

    def record(self, student: int, subject: str | None = None) -> bytes:
        """The record of the *student*-th child screened; *subject* is the id the screener
        sends for them (a roster's), else one made up from the number."""
        self.record_no += 1
        myopic = self.rng.random() < self.myopia_rate
        ua_r, ref_r = self._eye(myopic)
        ua_l, ref_l = self._eye(myopic and self.rng.random() < 0.9)
        glasses = myopic and self.rng.random() < 0.5
        corrected = (5.0, 5.0) if glasses else (None, None)
        subject = subject or f"S-{student * 2246822519 % 2**32:08X}"
        return encode(Record(self.record_no, subject, (ua_r, ua_l), corrected, (ref_r, ref_l)))


def sample_frames(rng: random.Random, n: int = 20) -> list[bytes]:
    screener = Screener(rng)
    return [screener.record(i) for i in range(n)]
