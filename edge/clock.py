"""Device clock to wall clock: offset estimation for devices without a trustworthy clock."""

from __future__ import annotations

from collections import deque


class OffsetEstimator:
    """Estimates `wall - device` from (device time, receive time) pairs.

    The transport only ever adds delay, so the smallest `received - device_time` seen over a
    recent window is the best estimate of the true offset (the minimum-delay filter used by
    NTP-like schemes). A device clock that jumps backwards (a reboot resets uptime) or forward
    by more than `jump_s` starts a new window.
    """

    def __init__(self, window: int = 128, jump_s: float = 30.0) -> None:
        self._samples: deque[float] = deque(maxlen=window)
        self._last_device: float | None = None
        self._jump_s = jump_s
        self.resets = 0

    def update(self, device_time_s: float, received_s: float) -> float:
        """Add a sample; the current offset estimate in seconds."""
        offset = received_s - device_time_s
        if self._samples:
            assert self._last_device is not None
            jumped = device_time_s < self._last_device - 1.0
            if not jumped:
                # An unexpected forward step of the device clock relative to the estimate.
                jumped = abs(offset - min(self._samples)) > self._jump_s
            if jumped:
                self._samples.clear()
                self.resets += 1
        self._last_device = device_time_s
        self._samples.append(offset)
        return min(self._samples)

    @property
    def offset(self) -> float | None:
        return min(self._samples) if self._samples else None
