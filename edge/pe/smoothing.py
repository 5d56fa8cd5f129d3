"""One-euro low-pass filter (Casiez et al., CHI 2012) for jittery keypoints."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


def _alpha(cutoff_hz: float, dt: float) -> float:
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Vector one-euro filter: little smoothing when points move fast, strong when they rest.

    Values are expected in a body-size-normalised scale, so that `beta` means the same for a
    child near the camera and one far away.
    """

    def __init__(
        self, min_cutoff_hz: float = 1.5, beta: float = 0.5, derivative_cutoff_hz: float = 1.0
    ) -> None:
        self.min_cutoff_hz = min_cutoff_hz
        self.beta = beta
        self.derivative_cutoff_hz = derivative_cutoff_hz
        self._value: FloatArray | None = None
        self._speed: FloatArray | None = None

    def reset(self) -> None:
        self._value = None
        self._speed = None

    def __call__(self, value: FloatArray, dt: float) -> FloatArray:
        if self._value is None or self._speed is None or dt <= 0:
            self._value = value.copy()
            self._speed = np.zeros_like(value)
            return value.copy()
        speed = (value - self._value) / dt
        a_d = _alpha(self.derivative_cutoff_hz, dt)
        self._speed = (a_d * speed + (1 - a_d) * self._speed).astype(np.float32)
        cutoff = self.min_cutoff_hz + self.beta * np.abs(self._speed)
        tau = 1.0 / (2.0 * np.pi * cutoff)
        a = 1.0 / (1.0 + tau / dt)
        self._value = (a * value + (1 - a) * self._value).astype(np.float32)
        return self._value.copy()
