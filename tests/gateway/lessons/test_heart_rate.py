"""Zones, exercise density and means from heart-rate samples, on hand-computed cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from gateway.lessons.heart_rate import (
    HeartRateSettings,
    StudentHeartRate,
    group_heart_rate,
    hr_max,
    student_heart_rate,
    zone_of,
)

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
DEFAULTS = HeartRateSettings()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_tanaka() -> None:
    assert hr_max(10) == pytest.approx(201.0)
    assert hr_max(0) == 208.0


@pytest.mark.parametrize(
    ("pct", "zone"),
    [
        (56.9, "very_light"),
        (57.0, "light"),
        (63.9, "light"),
        (64.0, "moderate"),
        (76.9, "moderate"),
        (77.0, "vigorous"),
        (95.9, "vigorous"),
        (96.0, "near_maximal"),
        (110.0, "near_maximal"),
        (0.0, "very_light"),
    ],
)
def test_zone_boundaries_are_acsm_classes(pct: float, zone: str) -> None:
    assert zone_of(pct * 2, 200.0) == zone


def test_time_is_attributed_to_the_earlier_sample_and_long_gaps_are_no_data() -> None:
    samples = [
        (at(0), 150.0),
        (at(10), 100.0),
        (at(15), 150.0),
        (at(40), 150.0),
        (at(41), 0.0),
        (at(42), 150.0),
    ]
    r = student_heart_rate(reversed(samples), age=10, settings=DEFAULTS)
    # 0→10: 10 s at 150; 10→15: 5 s at 100; 15→40 is a 25 s gap (> 10 s): dropped;
    # the 0 bpm sample is no reading, so 40→42: 2 s at 150.
    assert r.measured_s == 17 and r.at_or_above_s == 12
    assert r.density_pct == pytest.approx(100 * 12 / 17)
    assert r.mean_bpm == pytest.approx((150 * 12 + 100 * 5) / 17)
    assert r.threshold_bpm == pytest.approx(128.6)  # 64 % of 201
    assert r.zone_s["moderate"] == 12 and r.zone_s["very_light"] == 5  # 100/201 = 49.8 %


def test_the_threshold_counts_at_or_above() -> None:
    # age 0 and 50 %: a threshold of exactly 104 bpm, free of rounding
    half = HeartRateSettings(moderate_pct=50)
    on = student_heart_rate([(at(0), 104.0), (at(5), 104.0)], 0, half)
    below = student_heart_rate([(at(0), 103.9), (at(5), 103.9)], 0, half)
    assert (on.threshold_bpm, on.density_pct, below.density_pct) == (104.0, 100, 0)


def test_no_samples_or_one_sample_measure_nothing() -> None:
    for samples in ([], [(at(0), 150.0)]):
        r = student_heart_rate(samples, 12, DEFAULTS)
        assert r.measured_s == 0 and r.density_pct is None and r.mean_bpm is None
    assert group_heart_rate([student_heart_rate([], 12, DEFAULTS)], DEFAULTS).density_pct is None


def test_group_mean_is_pooled_and_density_is_the_mean_of_students() -> None:
    a = student_heart_rate([(at(i), 170.0) for i in range(0, 101, 5)], 12, DEFAULTS)  # 100 s
    b = student_heart_rate([(at(i), 110.0) for i in range(0, 301, 5)], 12, DEFAULTS)  # 300 s
    g = group_heart_rate([a, b], DEFAULTS)
    assert g.density_pct == 50  # (100 + 0) / 2, whatever each one's wear time
    assert g.mean_bpm == pytest.approx((170 * 100 + 110 * 300) / 400)  # 125
    assert g.density_ok is False and g.mean_ok is False


def test_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="mean_hr_low_bpm"):
        HeartRateSettings(mean_hr_low_bpm=170, mean_hr_high_bpm=150)
    with pytest.raises(ValidationError):
        HeartRateSettings(moderate_pct=0)
    with pytest.raises(ValidationError):
        HeartRateSettings(unknown=1)  # type: ignore[call-arg]


@given(
    st.lists(st.tuples(st.integers(0, 3600), st.floats(0, 250)), max_size=60), st.integers(6, 25)
)
def test_invariants(raw: list[tuple[int, float]], age: int) -> None:
    r = student_heart_rate([(at(s), bpm) for s, bpm in raw], age, DEFAULTS)
    assert sum(r.zone_s.values()) == pytest.approx(r.measured_s)
    assert 0 <= r.at_or_above_s <= r.measured_s + 1e-9
    if r.density_pct is not None:
        assert 0 <= r.density_pct <= 100
        assert r.mean_bpm is not None and r.peak_bpm is not None
        assert r.mean_bpm <= r.peak_bpm + 1e-9


@pytest.mark.parametrize(
    ("bpm", "mean_ok"),
    [
        (139.9, False),
        (140.0, True),
        (160.0, True),
        (160.1, False),
    ],
)
def test_mean_heart_rate_guidance_is_140_to_160_inclusive(bpm: float, mean_ok: bool) -> None:
    one = student_heart_rate([(at(0), bpm), (at(5), bpm)], 12, DEFAULTS)
    assert group_heart_rate([one], DEFAULTS).mean_ok is mean_ok


def test_group_density_guidance_is_at_least_75_percent() -> None:
    # age 0, threshold 64 % of 208 = 133.12 bpm: 3 of 4 intervals above is exactly 75 %.
    def student(above: int) -> StudentHeartRate:
        bpms = [150.0] * above + [100.0] * (4 - above) + [100.0]
        return student_heart_rate([(at(5 * i), b) for i, b in enumerate(bpms)], 0, DEFAULTS)

    assert group_heart_rate([student(3)], DEFAULTS).density_pct == 75
    assert group_heart_rate([student(3)], DEFAULTS).density_ok is True
    assert group_heart_rate([student(3), student(2)], DEFAULTS).density_ok is False  # 62.5 %
