"""Clock-offset estimation for devices without a real-time clock."""

from __future__ import annotations

import random

from edge.clock import OffsetEstimator


def test_minimum_delay_filter_converges_to_the_true_offset() -> None:
    rng = random.Random(3)
    est = OffsetEstimator()
    true_offset = 1_700_000_000.0
    for i in range(200):
        device = 50.0 + i * 0.25
        est.update(device, device + true_offset + rng.expovariate(1 / 0.05))
    assert est.offset is not None and 0 <= est.offset - true_offset < 0.01


def test_a_device_reboot_starts_over() -> None:
    est = OffsetEstimator()
    for i in range(10):
        est.update(1000.0 + i, 5000.0 + i)
    assert est.update(2.0, 5011.0) == 5009.0
    assert est.resets == 1
