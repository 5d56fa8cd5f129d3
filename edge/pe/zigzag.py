"""Online turning-point detector with an adaptive reversal threshold (hysteresis)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from statistics import median


class Turn(StrEnum):
    PEAK = "peak"
    VALLEY = "valley"


@dataclass(frozen=True)
class Extreme:
    """A confirmed turning point of the signal and the swing that led into it."""

    kind: Turn
    frame: int
    time_s: float
    value: float
    swing: float  # |value - previous extreme's value|; NaN for the first


class Zigzag:
    """Confirms a peak once the signal has fallen `delta` below it (a valley likewise).

    `delta` is the larger of a fixed floor, in the signal's own body-normalised units (so that
    jitter while someone pauses never counts), and a share of the median of the swings of the
    last `memory_s` seconds (so that a hitch inside a big movement is not taken for a turn,
    whatever the person's range). Forgetting old swings matters: one big movement while getting
    ready must not raise the threshold above every rep that follows.
    """

    def __init__(
        self, min_delta: float, relative: float = 0.4, memory_s: float = 4.0, history: int = 8
    ) -> None:
        if min_delta <= 0:
            raise ValueError("min_delta must be positive")
        self.min_delta = min_delta
        self.relative = relative
        self.memory_s = memory_s
        self._swings: deque[tuple[float, float]] = deque(maxlen=history)  # (time, swing)
        self._trend = 0
        self._hi: tuple[float, int, float] | None = None  # value, frame, time
        self._lo: tuple[float, int, float] | None = None
        self._last: float | None = None
        self._now = 0.0

    @property
    def typical_swing(self) -> float:
        """Median of the recent swings (0 when there are none)."""
        recent = [s for t, s in self._swings if t >= self._now - self.memory_s]
        return median(recent) if recent else 0.0

    @property
    def recent_turns(self) -> int:
        """How many swings ended in the last `memory_s` seconds."""
        return sum(t >= self._now - self.memory_s for t, _ in self._swings)

    @property
    def delta(self) -> float:
        return max(self.min_delta, self.relative * self.typical_swing)

    def _confirm(self, kind: Turn, point: tuple[float, int, float]) -> Extreme:
        value, frame, time_s = point
        swing = abs(value - self._last) if self._last is not None else math.nan
        if not math.isnan(swing):
            self._swings.append((time_s, swing))
        self._last = value
        return Extreme(kind, frame, time_s, value, swing)

    def pending(self) -> Extreme | None:
        """The turn the signal is heading for but that is not confirmed yet, with its swing
        from the last confirmed turn (None before the first confirmed turn)."""
        if self._last is None or self._hi is None or self._lo is None or self._trend == 0:
            return None
        kind, point = (Turn.PEAK, self._hi) if self._trend > 0 else (Turn.VALLEY, self._lo)
        value, frame, time_s = point
        return Extreme(kind, frame, time_s, value, abs(value - self._last))

    def update(self, frame: int, time_s: float, value: float) -> Extreme | None:
        """Feed one sample (NaN for a frame without a pose); returns a newly confirmed turn."""
        if math.isnan(value):
            return None
        self._now = time_s
        point = (value, frame, time_s)
        if self._hi is None or self._lo is None:
            self._hi = self._lo = point
            return None
        delta = self.delta
        if self._trend >= 0 and value > self._hi[0]:
            self._hi = point
        if self._trend <= 0 and value < self._lo[0]:
            self._lo = point
        if self._trend >= 0 and self._hi[0] - value >= delta:
            found = self._confirm(Turn.PEAK, self._hi)
            self._trend, self._lo = -1, point
            return found
        if self._trend <= 0 and value - self._lo[0] >= delta:
            found = self._confirm(Turn.VALLEY, self._lo)
            self._trend, self._hi = 1, point
            return found
        return None
