"""Fault injection for simulated links: dropped links, duplicates, garbage, skew, low battery."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Faults:
    """What goes wrong during a scenario.

    drop_link_s: every device link is down for this many scenario seconds, starting at 40 %
      of the scenario (serial bytes are lost, BLE and TCP connections are closed and refused);
    duplicate_rate: share of frames sent twice (a retransmission with the same frame counter);
    clock_skew_s: offset of every device clock from true time (gates, rope clocks);
    garbage_rate: share of frames preceded by line noise, or cut short;
    low_battery: share of battery-reporting devices that start nearly empty.
    """

    drop_link_s: float = 0.0
    duplicate_rate: float = 0.0
    clock_skew_s: float = 0.0
    garbage_rate: float = 0.0
    low_battery: float = 0.0

    def __post_init__(self) -> None:
        for name in ("duplicate_rate", "garbage_rate", "low_battery"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"--{name.replace('_', '-')} must be between 0 and 1, not {value}")
        if self.drop_link_s < 0:
            raise ValueError("--drop-link must not be negative")


def garbage(rng: random.Random) -> bytes:
    """Line noise: random bytes that may contain start bytes of every protocol."""
    return bytes(
        rng.choice((0xA5, 0x24, 0x23, 0x0A, rng.randrange(256)))
        for _ in range(rng.randrange(1, 24))
    )


def disturb(frame: bytes, faults: Faults, rng: random.Random) -> bytes:
    """The bytes a serial link really carries for *frame*."""
    out = frame
    if faults.garbage_rate and rng.random() < faults.garbage_rate:
        if rng.random() < 0.5:
            out = garbage(rng) + out
        else:
            out = out[: rng.randrange(1, max(2, len(out)))] + b"\n"  # cut short by noise
            out += frame  # the device's next attempt gets through
    if faults.duplicate_rate and rng.random() < faults.duplicate_rate:
        out += frame
    return out
