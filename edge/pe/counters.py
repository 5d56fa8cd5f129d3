"""Repetition counters, one per exercise, fed one pose per frame; each reports reps and form."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise
from statistics import median

import numpy as np
import numpy.typing as npt

from edge.pe import features as ft
from edge.pe.zigzag import Extreme, Turn, Zigzag

FloatArray = npt.NDArray[np.float32]


class Exercise(StrEnum):
    ROPE_SKIP = "rope_skip"
    JUMPING_JACK = "jumping_jack"
    SIT_UP = "sit_up"
    PUSH_UP = "push_up"
    SQUAT = "squat"
    PULL_UP = "pull_up"


class FormFlag(StrEnum):
    """What can be wrong with a repetition or a set."""

    # The rep moved through clearly less range than the set's typical rep.
    INCOMPLETE_RANGE = "incomplete_range"
    # The rep did not reach the exercise's depth (joint angle or height limit).
    SHALLOW = "shallow"
    # The person was not found in many frames of the set: the count may be low.
    TRACKING_LOST = "tracking_lost"
    # The rep was not seen but inferred from a steady rhythm around a gap (rope skipping).
    INFERRED = "inferred"


@dataclass(frozen=True)
class Rep:
    """One counted repetition."""

    frame: int
    time_s: float
    swing: float
    flags: tuple[FormFlag, ...] = ()


@dataclass
class CountResult:
    """The state of a set: what a live display and the finished-set event carry."""

    exercise: Exercise
    reps: list[Rep] = field(default_factory=list)
    frames: int = 0
    frames_with_pose: int = 0
    first_frame: int | None = None
    last_frame: int | None = None

    @property
    def count(self) -> int:
        return len(self.reps)

    @property
    def cadence_per_min(self) -> float:
        """Reps per minute from the median time between reps (robust to one pause)."""
        if len(self.reps) < 2:
            return 0.0
        gaps = [b.time_s - a.time_s for a, b in pairwise(self.reps)]
        gap = median(gaps)
        return 60.0 / gap if gap > 0 else 0.0

    @property
    def form_flags(self) -> dict[str, int]:
        """How many reps carry each flag, plus set-level flags (count 1)."""
        counts: dict[str, int] = {}
        for rep in self.reps:
            for flag in rep.flags:
                counts[flag.value] = counts.get(flag.value, 0) + 1
        if self.frames and self.frames_with_pose < 0.8 * self.frames:
            counts[FormFlag.TRACKING_LOST.value] = 1
        return counts


class BodyScale:
    """Running torso length in pixels, the unit all signals are measured in.

    The median of the last half second drops single bad frames; averaging it over about a
    second follows a person walking towards the camera but not the jitter of the keypoints.
    """

    WINDOW = 15
    MIN_SAMPLES = 5

    def __init__(self, time_constant_s: float = 1.0) -> None:
        self.time_constant_s = time_constant_s
        self.value: float | None = None
        self.jumped = False  # the last update replaced the scale instead of following it
        self._recent: deque[float] = deque(maxlen=self.WINDOW)

    def update(self, k: FloatArray, v: FloatArray, dt: float) -> float | None:
        torso = ft.torso_length(k, v)
        if math.isfinite(torso) and torso > 1.0:
            self._recent.append(torso)
        if len(self._recent) < self.MIN_SAMPLES:
            return self.value
        typical = median(self._recent)
        # Nobody changes size by a third within half a second: such a change means tracking
        # has moved to the right person (or out of a wrong pose), so the old scale is dropped.
        self.jumped = self.value is not None and abs(typical - self.value) > 0.33 * self.value
        if self.value is None or self.jumped:
            self.value = typical
        else:
            self.value += (typical - self.value) * min(1.0, dt / self.time_constant_s)
        return self.value


class Ema:
    """Exponential moving average over time (a one-pole low-pass); NaN samples are skipped."""

    def __init__(self, time_constant_s: float) -> None:
        self.time_constant_s = time_constant_s
        self.value: float | None = None

    def update(self, x: float, dt: float) -> float:
        if math.isnan(x):
            return math.nan
        if self.value is None or self.time_constant_s <= 0:
            self.value = x
        else:
            self.value += (x - self.value) * min(1.0, dt / self.time_constant_s)
        return self.value


class RepCounter(ABC):
    """Counts one exercise; `update` is called once per frame, with None when no pose."""

    exercise: Exercise
    # Pose samples per second the counter needs. Slow exercises (a rep takes most of a second)
    # are counted as well from 15 poses a second as from 30, which halves the model's work;
    # rope skipping, with up to seven foot contacts a second, needs every frame of a camera.
    sample_hz: float = 15.0

    def __init__(self) -> None:
        self.result = CountResult(self.exercise)
        self._scale = BodyScale()
        self._prev_time: float | None = None

    def update(self, frame: int, time_s: float, keypoints: FloatArray | None,
               visibility: FloatArray | None) -> list[Rep]:
        """Feed one frame; returns the reps confirmed by it (usually none, sometimes one)."""
        dt = time_s - self._prev_time if self._prev_time is not None else 0.0
        self._prev_time = time_s
        result = self.result
        result.frames += 1
        result.first_frame = frame if result.first_frame is None else result.first_frame
        result.last_frame = frame
        if keypoints is None or visibility is None:
            return []
        result.frames_with_pose += 1
        unit = self._scale.update(keypoints, visibility, dt)
        if unit is None:
            return []
        if self._scale.jumped:
            # Movements measured in the old unit mean nothing in the new one.
            self._restart_signals()
        reps = self._step(frame, time_s, dt, keypoints, visibility, unit)
        result.reps.extend(reps)
        if len(reps) > 1:
            result.reps.sort(key=lambda r: r.time_s)
        return reps

    @abstractmethod
    def _restart_signals(self) -> None:
        """Forget signal history (filters, turn detectors); the count is kept."""

    @abstractmethod
    def _step(self, frame: int, time_s: float, dt: float, k: FloatArray, v: FloatArray,
              unit: float) -> list[Rep]: ...


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

    def _step(self, frame: int, time_s: float, dt: float, k: FloatArray, v: FloatArray,
              unit: float) -> list[Rep]:
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
    spec = Spec(ft.hip_height, Turn.VALLEY, min_delta=0.3, smoothing_s=0.08,
                min_interval_s=0.6, deep_enough=lambda h: h <= 1.25)


class PushUpCounter(SignalCounter):
    """Shoulders' height above the wrists (the hands stay on the floor)."""

    exercise = Exercise.PUSH_UP
    spec = Spec(ft.shoulders_over_wrists, Turn.VALLEY, min_delta=0.2, smoothing_s=0.08,
                min_interval_s=0.5, deep_enough=lambda h: h <= 0.6)


class SitUpCounter(SignalCounter):
    """Angle between torso and thighs: wide lying down, narrow sitting up."""

    exercise = Exercise.SIT_UP
    spec = Spec(_angle_signal(ft.hip_angle), Turn.VALLEY, min_delta=30.0, smoothing_s=0.08,
                min_interval_s=0.6, deep_enough=lambda a: a <= 100.0)


class PullUpCounter(SignalCounter):
    """Shoulders' height relative to the hands on the bar (negative while hanging)."""

    exercise = Exercise.PULL_UP
    spec = Spec(ft.shoulders_over_wrists, Turn.PEAK, min_delta=0.35, smoothing_s=0.08,
                min_interval_s=0.6, deep_enough=lambda h: h >= -0.35)


class JumpingJackCounter(SignalCounter):
    """Wrists' height over the shoulders: a jack is complete with the hands overhead."""

    exercise = Exercise.JUMPING_JACK
    spec = Spec(ft.wrists_over_shoulders, Turn.PEAK, min_delta=0.6, smoothing_s=0.05,
                min_interval_s=0.35, deep_enough=lambda h: h >= 0.5)


FEET_L = (ft.L_ANKLE, ft.L_HEEL, ft.L_FOOT)
FEET_R = (ft.R_ANKLE, ft.R_HEEL, ft.R_FOOT)
TRUNK = (ft.NOSE, ft.L_SHOULDER, ft.R_SHOULDER, ft.L_HIP, ft.R_HIP)


def _height(k: FloatArray, v: FloatArray, points: tuple[int, ...], unit: float) -> float:
    seen = [i for i in points if v[i] >= ft.MIN_VISIBILITY]
    if not seen:
        return math.nan
    return -float(np.mean(k[seen, 1])) / unit


class Median:
    """Running median of the last few samples: removes one-frame keypoint glitches."""

    def __init__(self, size: int) -> None:
        self._window: deque[float] = deque(maxlen=size)

    def update(self, x: float) -> float:
        if not math.isnan(x):
            self._window.append(x)
        return median(self._window) if self._window else math.nan


class RopeSkipCounter(RepCounter):
    """One count per rope turn: per jump (two-foot, double-under) or per foot contact (step).

    Two detectors run side by side. Jumps lift the whole body at once, so the jump detector
    follows the mean height of trunk and feet. In the alternating-foot step the feet move in
    opposite phase and the trunk hardly rises, so the step detector follows the height
    difference of the two feet, each of whose turns is one contact. The ratio of the two
    detectors' typical swings tells which style is being skipped, with hysteresis so that one
    odd swing does not flip it.
    """

    exercise = Exercise.ROPE_SKIP
    sample_hz = 30.0
    MIN_JUMP = 0.04  # body-height swing of a jump, torso lengths
    MIN_STEP = 0.15  # foot-height difference swing of a step, torso lengths
    MIN_INTERVAL_S = 0.07  # faster than about 14 contacts a second is not skipping
    DETREND_S = 0.4  # removes walking towards or away from the camera
    MEMORY_S = 1.5  # skipping is fast: a few seconds of swings describe the current style
    STEP_ENTER, STEP_EXIT = 1.8, 1.2  # foot-difference swing / trunk swing
    RHYTHM_WINDOW = 8  # intervals looked at to find the rhythm and the gaps in it

    def __init__(self) -> None:
        super().__init__()
        self.stepping = False
        self._restart_signals()

    def _restart_signals(self) -> None:
        self._jump = Zigzag(self.MIN_JUMP, relative=0.3, memory_s=self.MEMORY_S)
        self._trunk = Zigzag(self.MIN_JUMP / 2, relative=0.3, memory_s=self.MEMORY_S)
        self._feet = Zigzag(self.MIN_STEP, relative=0.3, memory_s=self.MEMORY_S)
        self._trend = Ema(self.DETREND_S)
        self._trunk_trend = Ema(self.DETREND_S)
        self._left, self._right = Median(3), Median(3)

    def _step(self, frame: int, time_s: float, dt: float, k: FloatArray, v: FloatArray,
              unit: float) -> list[Rep]:
        left = self._left.update(_height(k, v, FEET_L, unit))
        right = self._right.update(_height(k, v, FEET_R, unit))
        trunk = _height(k, v, TRUNK, unit)
        body = (trunk + (left + right) / 2.0) / 2.0
        jump = self._jump.update(frame, time_s, body - self._trend.update(body, dt))
        self._trunk.update(frame, time_s, trunk - self._trunk_trend.update(trunk, dt))
        step = self._feet.update(frame, time_s, left - right)
        trunk_swing = max(self._trunk.typical_swing, 1e-6)
        ratio = self._feet.typical_swing / trunk_swing
        if self.stepping and ratio < self.STEP_EXIT:
            self.stepping = False
        elif not self.stepping and ratio > self.STEP_ENTER:
            self.stepping = True
        turn = step if self.stepping else (jump if jump and jump.kind == Turn.PEAK else None)
        if turn is None or math.isnan(turn.swing):
            return []
        reps = self.result.reps
        if reps and turn.time_s - reps[-1].time_s < self.MIN_INTERVAL_S:
            return []
        rep = Rep(turn.frame, turn.time_s, turn.swing)
        return [rep, *self._fill_gaps([*reps, rep])]

    def _fill_gaps(self, reps: list[Rep]) -> list[Rep]:
        """Turns the detectors missed, found from the rhythm: skipping is very regular.

        Among the last few reps, when most intervals agree and one gap is about two or three
        of them, the rope turns in that gap were too shallow for the threshold (or fell on
        frames without a pose); they are counted, evenly placed and flagged as inferred. A real
        rest is longer than three turns and is left alone.
        """
        window = reps[-(self.RHYTHM_WINDOW + 1):]
        if len(window) < self.RHYTHM_WINDOW + 1:
            return []
        gaps = [b.time_s - a.time_s for a, b in pairwise(window)]
        interval = median(gaps)
        steady = sum(0.75 * interval <= g <= 1.25 * interval for g in gaps)
        if interval <= 0 or steady < len(gaps) - 2:
            return []
        added: list[Rep] = []
        for a, b in pairwise(window):
            ratio = (b.time_s - a.time_s) / interval
            missed = round(ratio) - 1
            if not 1 <= missed <= 2 or abs(ratio - (missed + 1)) > 0.3:
                continue
            for i in range(1, missed + 1):
                share = i / (missed + 1)
                added.append(Rep(round(a.frame + (b.frame - a.frame) * share),
                                 a.time_s + (b.time_s - a.time_s) * share, math.nan,
                                 (FormFlag.INFERRED,)))
        return added


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


__all__ = ["COUNTERS", "CountResult", "Exercise", "FormFlag", "Rep", "RepCounter",
           "make_counter"]
