"""Repetition counters, one per exercise, fed one pose per frame; each reports reps and form."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from edge.pe import features as ft
from edge.pe.base import (
    BodyScale,
    CountResult,
    Ema,
    Exercise,
    FloatArray,
    FormFlag,
    Rep,
    RepCounter,
)
from edge.pe.rope_skip import RopeSkipCounter
from edge.pe.zigzag import Extreme, Turn, Zigzag

Signal = Callable[[FloatArray, FloatArray, float], float]


@dataclass(frozen=True)
class Spec:
    """How one exercise is counted from one body-normalised signal."""

    signal: Signal
    count_on: Turn  # the turn that completes the working phase of a rep
    min_delta: float  # smallest swing that can be a rep, in the signal's units
    smoothing_s: float  # low-pass time constant; well below the fastest rep's half period
    min_interval_s: float  # two reps closer than this are one rep seen twice
    # Form check at the counted turn: (signal at the turn) -> True when the rep was deep enough.
    deep_enough: Callable[[float], bool] | None = None


class SignalCounter(RepCounter):
    """A rep is a swing of the exercise's signal between two turns of at least the threshold."""

    spec: Spec

    def __init__(self) -> None:
        super().__init__()
        self._restart_signals()

    def _restart_signals(self) -> None:
        self._ema = Ema(self.spec.smoothing_s)
        self._zigzag = Zigzag(self.spec.min_delta)

    def _step(
        self, frame: int, time_s: float, dt: float, k: FloatArray, v: FloatArray, unit: float
    ) -> list[Rep]:
        value = self._ema.update(self.spec.signal(k, v, unit), dt)
        turn = self._zigzag.update(frame, time_s, value)
        if turn is None or turn.kind != self.spec.count_on:
            return []
        return self._accept(turn)

    def _accept(self, turn: Extreme) -> list[Rep]:
        reps = self.result.reps
        # The first turn has no movement leading into it (the signal starts there): not a rep.
        if math.isnan(turn.swing):
            return []
        if reps and turn.time_s - reps[-1].time_s < self.spec.min_interval_s:
            return []
        flags: list[FormFlag] = []
        typical = self._zigzag.typical_swing
        if math.isfinite(turn.swing) and typical > 0 and turn.swing < 0.6 * typical:
            flags.append(FormFlag.INCOMPLETE_RANGE)
        if self.spec.deep_enough is not None and not self.spec.deep_enough(turn.value):
            flags.append(FormFlag.SHALLOW)
        return [Rep(turn.frame, turn.time_s, turn.swing, tuple(flags))]


def _angle_signal(angle: Callable[[FloatArray, FloatArray], float]) -> Signal:
    return lambda k, v, unit: angle(k, v)


class SquatCounter(SignalCounter):
    """Hips' height above the ankles; works from the front and the side."""

    exercise = Exercise.SQUAT
    # Standing, the hips are about 1.7 torso lengths above the ankles; a parallel squat brings
    # them to about one.
    spec = Spec(
        ft.hip_height,
        Turn.VALLEY,
        min_delta=0.3,
        smoothing_s=0.08,
        min_interval_s=0.6,
        deep_enough=lambda h: h <= 1.25,
    )


class PushUpCounter(SignalCounter):
    """Shoulders' height above the wrists (the hands stay on the floor)."""

    exercise = Exercise.PUSH_UP
    spec = Spec(
        ft.shoulders_over_wrists,
        Turn.VALLEY,
        min_delta=0.2,
        smoothing_s=0.08,
        min_interval_s=0.5,
        deep_enough=lambda h: h <= 0.6,
    )


class SitUpCounter(SignalCounter):
    """Angle between torso and thighs: wide lying down, narrow sitting up."""

    exercise = Exercise.SIT_UP
    spec = Spec(
        _angle_signal(ft.hip_angle),
        Turn.VALLEY,
        min_delta=30.0,
        smoothing_s=0.08,
        min_interval_s=0.6,
        deep_enough=lambda a: a <= 100.0,
    )


class PullUpCounter(SignalCounter):
    """Shoulders' height relative to the hands on the bar (negative while hanging)."""

    exercise = Exercise.PULL_UP
    spec = Spec(
        ft.shoulders_over_wrists,
        Turn.PEAK,
        min_delta=0.35,
        smoothing_s=0.08,
        min_interval_s=0.6,
        deep_enough=lambda h: h >= -0.35,
    )


class JumpingJackCounter(SignalCounter):
    """Wrists' height over the shoulders: a jack is complete with the hands overhead."""

    exercise = Exercise.JUMPING_JACK
    spec = Spec(
        ft.wrists_over_shoulders,
        Turn.PEAK,
        min_delta=0.6,
        smoothing_s=0.05,
        min_interval_s=0.35,
        deep_enough=lambda h: h >= 0.5,
    )


COUNTERS: dict[Exercise, type[RepCounter]] = {
    Exercise.ROPE_SKIP: RopeSkipCounter,
    Exercise.JUMPING_JACK: JumpingJackCounter,
    Exercise.SIT_UP: SitUpCounter,
    Exercise.PUSH_UP: PushUpCounter,
    Exercise.SQUAT: SquatCounter,
    Exercise.PULL_UP: PullUpCounter,
}


def make_counter(exercise: Exercise | str) -> RepCounter:
    try:
        kind = Exercise(exercise)
    except ValueError:
        known = ", ".join(e.value for e in Exercise)
        raise ValueError(f"unknown exercise {exercise!r}; known: {known}") from None
    return COUNTERS[kind]()


__all__ = [
    "COUNTERS",
    "BodyScale",
    "CountResult",
    "Exercise",
    "FormFlag",
    "Rep",
    "RepCounter",
    "RopeSkipCounter",
    "make_counter",
]
