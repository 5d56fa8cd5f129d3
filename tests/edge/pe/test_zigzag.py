"""Turning-point detector: alternation, thresholds and arbitrary input."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.pe.zigzag import Turn, Zigzag


def turns(values: list[float], zz: Zigzag) -> list[Turn]:
    out = []
    for i, v in enumerate(values):
        found = zz.update(i, i / 30.0, v)
        if found is not None:
            out.append(found.kind)
    return out


def test_sine_gives_alternating_turns_one_pair_per_period() -> None:
    values = [math.sin(2 * math.pi * i / 30) for i in range(30 * 5 + 1)]
    found = turns(values, Zigzag(0.5))
    assert found.count(Turn.PEAK) == 5
    assert all(a != b for a, b in pairwise(found))


def test_swings_below_the_floor_are_ignored() -> None:
    values = [0.1 * math.sin(2 * math.pi * i / 30) for i in range(300)]
    assert turns(values, Zigzag(0.3)) == []


def test_nan_samples_are_skipped() -> None:
    values = [math.nan if i % 3 == 0 else math.sin(2 * math.pi * i / 30) for i in range(151)]
    assert turns(values, Zigzag(0.5)).count(Turn.PEAK) == 5


def test_min_delta_must_be_positive() -> None:
    with pytest.raises(ValueError, match="min_delta"):
        Zigzag(0.0)


@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=False, width=32), max_size=300),
    st.floats(min_value=1e-3, max_value=10),
)
def test_any_input_gives_alternating_turns_with_big_enough_swings(
    values: list[float], min_delta: float
) -> None:
    zz = Zigzag(min_delta)
    found = []
    for i, v in enumerate(values):
        turn = zz.update(i, i / 30.0, v)
        if turn is not None:
            found.append(turn)
    assert all(a.kind != b.kind for a, b in pairwise(found))
    assert all(math.isnan(t.swing) or t.swing >= min_delta for t in found)
    assert [t.frame for t in found] == sorted(t.frame for t in found)
