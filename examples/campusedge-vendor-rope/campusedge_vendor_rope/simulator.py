"""A simulated ACME R2 base station: ropes jumping, as the frames it sends on its serial line."""

from __future__ import annotations

import random

from campusedge_vendor_rope.codec import Live, encode_result


def session(rng: random.Random, ropes: int = 3, seconds: int = 20) -> list[bytes]:
    """Live frames once a second from each rope, then each rope's result."""
    frames: list[bytes] = []
    counts = [0.0] * ropes
    trips = [0] * ropes
    peak = [0] * ropes
    for second in range(1, seconds + 1):
        for rope in range(ropes):
            rate = max(0.0, rng.gauss(150, 15))
            if rng.random() < 0.03:
                trips[rope] += 1
                rate = 0.0
            counts[rope] += rate / 60
            peak[rope] = max(peak[rope], round(rate))
            live = Live(rope + 1, second & 0xFF, int(counts[rope]), round(rate), trips[rope], 90)
            frames.append(live.encode())
    for rope in range(ropes):
        frames.append(
            encode_result(
                rope + 1, (seconds + 1) & 0xFF, int(counts[rope]), seconds, peak[rope], trips[rope]
            )
        )
    return frames


def sample_frames(rng: random.Random) -> list[bytes]:
    """A short session, for the driver contract test."""
    return session(rng, ropes=2, seconds=3)
