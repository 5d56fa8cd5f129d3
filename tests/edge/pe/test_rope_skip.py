"""Rope-skip counter: one count per jump, or per foot contact in the alternating step."""

from __future__ import annotations

import math

import pytest

from edge.pe.counters import Exercise, RopeSkipCounter, make_counter
from tests.edge.pe import skeleton as sk
from tests.edge.pe.test_counters import run


def jumps(n: int, period_s: float, height: float, lead_s: float = 1.0) -> list[sk.Joints]:
    """Two-foot jumps: the whole body rises and lands once per period."""
    per = round(period_s * sk.FPS)
    still = [sk.standing() for _ in range(round(lead_s * sk.FPS))]
    moving = [
        sk.standing(phase_lift=height * max(0.0, math.sin(math.pi * i / per)) ** 2)
        for _ in range(n)
        for i in range(per)
    ]
    return still + moving + still


def steps(n_contacts: int, contact_s: float, lift: float, lead_s: float = 1.0) -> list[sk.Joints]:
    """Alternating-foot step: feet lift in turn, the body bounces a little at each contact."""
    per = round(contact_s * sk.FPS)
    still = [sk.standing() for _ in range(round(lead_s * sk.FPS))]
    moving = []
    for c in range(n_contacts):
        for i in range(per):
            up = lift * math.sin(math.pi * i / per)
            bounce = 0.03 * math.sin(math.pi * i / per)
            moving.append(
                sk.standing(
                    phase_lift=bounce,
                    lift_l=up if c % 2 == 0 else 0.0,
                    lift_r=up if c % 2 == 1 else 0.0,
                )
            )
    return still + moving + still


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize(("period_s", "height"), [(0.4, 0.2), (0.55, 0.35), (0.33, 0.12)])
def test_two_foot_and_double_under_jumps_count_once_each(
    seed: int, period_s: float, height: float
) -> None:
    frames = sk.degrade(iter(jumps(40, period_s, height)), seed=seed, noise_px=1.0, miss_rate=0.03)
    result = run(make_counter(Exercise.ROPE_SKIP), frames).result
    assert abs(result.count - 40) <= 1
    assert result.cadence_per_min == pytest.approx(60 / period_s, rel=0.1)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("contact_s", [0.2, 0.3])
def test_alternating_step_counts_each_foot_contact(seed: int, contact_s: float) -> None:
    frames = sk.degrade(iter(steps(40, contact_s, 0.35)), seed=seed, noise_px=1.0)
    counter = run(make_counter(Exercise.ROPE_SKIP), frames)
    assert isinstance(counter, RopeSkipCounter)
    assert abs(counter.result.count - 40) <= 1


def test_switching_style_mid_set_keeps_counting() -> None:
    joints = jumps(20, 0.4, 0.2, lead_s=0.5) + steps(30, 0.25, 0.35, lead_s=0.0)
    frames = sk.degrade(iter(joints), seed=4, noise_px=1.0)
    result = run(make_counter(Exercise.ROPE_SKIP), frames).result
    assert abs(result.count - 50) <= 2


def test_a_rest_is_not_filled_with_inferred_jumps() -> None:
    still = [sk.standing() for _ in range(round(1.6 * sk.FPS))]
    joints = jumps(20, 0.4, 0.2) + still + jumps(20, 0.4, 0.2)
    result = run(make_counter(Exercise.ROPE_SKIP), sk.degrade(iter(joints), seed=8)).result
    assert abs(result.count - 40) <= 1
    assert not result.form_flags.get("inferred")


def test_a_jump_hidden_by_lost_frames_is_inferred_from_the_rhythm() -> None:
    frames = sk.degrade(iter(jumps(30, 0.4, 0.2)), seed=9, noise_px=0.5)
    per = round(0.4 * sk.FPS)
    start = round(sk.FPS) + 15 * per  # the 16th jump: no pose for its whole flight
    for i in range(start - 1, start + per + 1):
        frames[i] = None
    result = run(make_counter(Exercise.ROPE_SKIP), frames).result
    assert abs(result.count - 30) <= 1
    assert result.form_flags.get("inferred") == 1
    assert [r.frame for r in result.reps] == sorted(r.frame for r in result.reps)
