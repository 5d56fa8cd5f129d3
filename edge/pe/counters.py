"""Repetition counters, one per exercise, fed one pose per frame; each reports reps and form."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from edge.pe import features as ft
from edge.pe.base import (
    MIN_SEEN_SHARE,
    BodyScale,
    CountResult,
    Ema,
    Exercise,
    FloatArray,
    FormFlag,
    Quality,
    QualityReason,
    Rep,
    RepCounter,
)
from edge.pe.rope_skip import RopeSkipCounter
from edge.pe.zigzag import Extreme, Turn, Zigzag

Signal = Callable[[FloatArray, FloatArray, float], float]


# Pairs of keypoints a signal is measured from; a pair is seen when either side is.
Parts = tuple[tuple[int, int], ...]
SHOULDERS = (ft.L_SHOULDER, ft.R_SHOULDER)
ELBOWS = (ft.L_ELBOW, ft.R_ELBOW)
WRISTS = (ft.L_WRIST, ft.R_WRIST)
HIPS = (ft.L_HIP, ft.R_HIP)
KNEES = (ft.L_KNEE, ft.R_KNEE)
ANKLES = (ft.L_ANKLE, ft.R_ANKLE)


@dataclass(frozen=True)
class Spec:
    """How one exercise is counted from one body-normalised signal."""

    name: str  # reported as the result's `signal`
    signal: Signal
    parts: Parts  # the keypoints the signal needs
    count_on: Turn  # the turn that completes the working phase of a rep
    min_delta: float  # smallest swing that can be a rep, in the signal's units
    smoothing_s: float  # low-pass time constant; well below the fastest rep's half period
    min_interval_s: float  # two reps closer than this are one rep seen twice
    # Form check at the counted turn: (signal at the turn) -> True when the rep was deep enough.
    deep_enough: Callable[[float], bool] | None = None


def _seen(v: FloatArray, parts: Parts) -> float:
    """How well the signal's keypoints are seen: the worst pair's better side."""
    return min(max(float(v[a]), float(v[b])) for a, b in parts)


class _Track:
    """One signal's filter, turn detector and reps; a counter runs one per signal it knows."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.reps: list[Rep] = []
        self.frames = 0  # frames in which the signal could be measured
        self.restart()

    def restart(self) -> None:
        self._ema = Ema(self.spec.smoothing_s)
        self._zigzag = Zigzag(self.spec.min_delta)
        self._seen_sum = 0.0
        self._seen_frames = 0

    def step(
        self, frame: int, time_s: float, dt: float, k: FloatArray, v: FloatArray, unit: float
    ) -> list[Rep]:
        raw = self.spec.signal(k, v, unit)
        if not math.isnan(raw):
            self.frames += 1
            self._seen_sum += _seen(v, self.spec.parts)
            self._seen_frames += 1
        turn = self._zigzag.update(frame, time_s, self._ema.update(raw, dt))
        if turn is None or turn.kind != self.spec.count_on:
            return []
        return self._accept(turn)

    def finish(self) -> list[Rep]:
        pending = self._zigzag.pending()
        # Only a full working phase: the swing into the pending turn is as large as a turn
        # the detector would confirm.
        if pending is None or pending.kind != self.spec.count_on:
            return []
        if pending.swing < self._zigzag.delta:
            return []
        return self._accept(pending)

    def _accept(self, turn: Extreme) -> list[Rep]:
        reps = self.reps
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
        seen = self._seen_sum / self._seen_frames if self._seen_frames else 0.0
        size = min(1.0, turn.swing / typical) if typical > 0 else 1.0
        self._seen_sum, self._seen_frames = 0.0, 0
        rep = Rep(turn.frame, turn.time_s, turn.swing, tuple(flags), round(seen * size, 2))
        reps.append(rep)
        return [rep]


class SignalCounter(RepCounter):
    """A rep is a swing of the exercise's signal between two turns of at least the threshold.

    An exercise has a preferred signal and fallbacks that need other body parts (the hands
    hidden, the legs out of frame). All run side by side; the count comes from the first one
    in order of preference that could be measured in most frames with a person, so a camera
    that cuts off the feet still counts from what it sees, and says which signal it used.
    """

    specs: tuple[Spec, ...]
    # Frames with a person before the choice of signal may move away from the preferred one.
    SETTLE_FRAMES = 15

    def __init__(self) -> None:
        super().__init__()
        self._tracks = [_Track(spec) for spec in self.specs]
        self._active = 0
        self.result.signal = self.specs[0].name

    def _restart_signals(self) -> None:
        for track in self._tracks:
            track.restart()

    def _choose(self) -> int:
        with_pose = self.result.frames_with_pose
        if with_pose < self.SETTLE_FRAMES:
            return self._active
        shares = [track.frames / with_pose for track in self._tracks]
        for i, share in enumerate(shares):
            if share >= MIN_SEEN_SHARE:
                return i
        return max(range(len(shares)), key=lambda i: shares[i])

    def _step(
        self, frame: int, time_s: float, dt: float, k: FloatArray, v: FloatArray, unit: float
    ) -> list[Rep]:
        new = [track.step(frame, time_s, dt, k, v, unit) for track in self._tracks]
        chosen = self._choose()
        track = self._tracks[chosen]
        self.result.signal_frames = track.frames
        if chosen != self._active:
            # Another signal takes over: its reps replace the ones counted so far.
            self._active = chosen
            self.result.signal = track.spec.name
            self.result.reps[:] = track.reps
            return []
        return new[chosen]

    def finish(self) -> list[Rep]:
        reps = self._tracks[self._active].finish()
        self.result.reps.extend(reps)
        return reps


def _angle_signal(angle: Callable[[FloatArray, FloatArray], float]) -> Signal:
    return lambda k, v, unit: angle(k, v)


class SquatCounter(SignalCounter):
    """Hips' height above the ankles; works from the front and the side.

    With the feet out of frame, the drop of shoulders and hips together.
    """

    exercise = Exercise.SQUAT
    # Standing, the hips are about 1.7 torso lengths above the ankles; a parallel squat brings
    # them to about one.
    specs = (
        Spec(
            "hips_over_ankles",
            ft.hip_height,
            (HIPS, ANKLES),
            Turn.VALLEY,
            min_delta=0.3,
            smoothing_s=0.08,
            min_interval_s=0.6,
            deep_enough=lambda h: h <= 1.25,
        ),
        Spec(
            "trunk_height",
            ft.body_height,
            (SHOULDERS, HIPS),
            Turn.VALLEY,
            min_delta=0.25,
            smoothing_s=0.08,
            min_interval_s=0.6,
        ),
    )


class PushUpCounter(SignalCounter):
    """Shoulders' height above the wrists (the hands stay on the floor); else above the elbows."""

    exercise = Exercise.PUSH_UP
    lying = True
    specs = (
        Spec(
            "shoulders_over_wrists",
            ft.shoulders_over_wrists,
            (SHOULDERS, WRISTS),
            Turn.VALLEY,
            min_delta=0.2,
            smoothing_s=0.08,
            min_interval_s=0.5,
            deep_enough=lambda h: h <= 0.6,
        ),
        Spec(
            "shoulders_over_elbows",
            ft.shoulders_over_elbows,
            (SHOULDERS, ELBOWS),
            Turn.VALLEY,
            min_delta=0.15,
            smoothing_s=0.08,
            min_interval_s=0.5,
        ),
    )


class SitUpCounter(SignalCounter):
    """Angle between torso and thighs: wide lying down, narrow sitting up.

    With the knees hidden, the rise of the shoulders over the hips.
    """

    exercise = Exercise.SIT_UP
    lying = True
    specs = (
        Spec(
            "hip_angle",
            _angle_signal(ft.hip_angle),
            (SHOULDERS, HIPS, KNEES),
            Turn.VALLEY,
            min_delta=30.0,
            smoothing_s=0.08,
            min_interval_s=0.6,
            deep_enough=lambda a: a <= 100.0,
        ),
        Spec(
            "shoulders_over_hips",
            ft.shoulders_over_hips,
            (SHOULDERS, HIPS),
            Turn.PEAK,
            min_delta=0.4,
            smoothing_s=0.08,
            min_interval_s=0.6,
        ),
    )


class PullUpCounter(SignalCounter):
    """Shoulders' height relative to the hands on the bar (negative while hanging).

    With the bar and hands above the frame, the rise of shoulders and hips together.
    """

    exercise = Exercise.PULL_UP
    specs = (
        Spec(
            "shoulders_over_wrists",
            ft.shoulders_over_wrists,
            (SHOULDERS, WRISTS),
            Turn.PEAK,
            min_delta=0.35,
            smoothing_s=0.08,
            min_interval_s=0.6,
            deep_enough=lambda h: h >= -0.35,
        ),
        Spec(
            "trunk_height",
            ft.body_height,
            (SHOULDERS, HIPS),
            Turn.PEAK,
            min_delta=0.35,
            smoothing_s=0.08,
            min_interval_s=0.6,
        ),
    )


class JumpingJackCounter(SignalCounter):
    """Wrists' height over the shoulders: a jack is complete with the hands overhead.

    With the hands out of frame, the elbows' height over the shoulders.
    """

    exercise = Exercise.JUMPING_JACK
    specs = (
        Spec(
            "wrists_over_shoulders",
            ft.wrists_over_shoulders,
            (SHOULDERS, WRISTS),
            Turn.PEAK,
            min_delta=0.6,
            smoothing_s=0.05,
            min_interval_s=0.35,
            deep_enough=lambda h: h >= 0.5,
        ),
        Spec(
            "elbows_over_shoulders",
            ft.elbows_over_shoulders,
            (SHOULDERS, ELBOWS),
            Turn.PEAK,
            min_delta=0.3,
            smoothing_s=0.05,
            min_interval_s=0.35,
        ),
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
    "Quality",
    "QualityReason",
    "Rep",
    "RepCounter",
    "RopeSkipCounter",
    "make_counter",
]
