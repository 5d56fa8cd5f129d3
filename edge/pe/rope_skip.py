"""Rope-skip counter: one count per rope turn, for two-foot jumps, double-unders and steps."""

from __future__ import annotations

import math
from collections import deque
from itertools import pairwise
from statistics import median

import numpy as np

from edge.pe import features as ft
from edge.pe.base import Ema, Exercise, FloatArray, FormFlag, Rep, RepCounter
from edge.pe.zigzag import Extreme, Turn, Zigzag

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
    STEP_TURNS = 2  # foot turns within MEMORY_S before a high swing ratio counts as stepping
    RHYTHM_WINDOW = 8  # intervals looked at to find the rhythm and the gaps in it

    def __init__(self) -> None:
        super().__init__()
        self.result.signal = "body_and_feet_height"
        self.stepping = False
        self._restart_signals()

    def _restart_signals(self) -> None:
        self._jump = Zigzag(self.MIN_JUMP, relative=0.3, memory_s=self.MEMORY_S)
        self._trunk = Zigzag(self.MIN_JUMP / 2, relative=0.3, memory_s=self.MEMORY_S)
        self._feet = Zigzag(self.MIN_STEP, relative=0.3, memory_s=self.MEMORY_S)
        self._trend = Ema(self.DETREND_S)
        self._trunk_trend = Ema(self.DETREND_S)
        self._left, self._right = Median(3), Median(3)
        self._step_turns: deque[Extreme] = deque()  # foot turns of the last MEMORY_S

    def _step(
        self, frame: int, time_s: float, dt: float, k: FloatArray, v: FloatArray, unit: float
    ) -> list[Rep]:
        left = self._left.update(_height(k, v, FEET_L, unit))
        right = self._right.update(_height(k, v, FEET_R, unit))
        trunk = _height(k, v, TRUNK, unit)
        body = (trunk + (left + right) / 2.0) / 2.0
        if not math.isnan(body):
            self.result.signal_frames += 1
        jump = self._jump.update(frame, time_s, body - self._trend.update(body, dt))
        self._trunk.update(frame, time_s, trunk - self._trunk_trend.update(trunk, dt))
        step = self._feet.update(frame, time_s, left - right)
        trunk_swing = max(self._trunk.typical_swing, 1e-6)
        ratio = self._feet.typical_swing / trunk_swing
        # Stepping shows as a steady run of foot turns; one glitch of a foot keypoint gives one
        # big swing, which must not switch the style on its own.
        if step is not None and not math.isnan(step.swing):
            self._step_turns.append(step)
        while self._step_turns and self._step_turns[0].time_s < time_s - self.MEMORY_S:
            self._step_turns.popleft()
        rhythm = len(self._step_turns)
        if self.stepping and (ratio < self.STEP_EXIT or rhythm < self.STEP_TURNS // 2):
            self.stepping = False
        elif not self.stepping and ratio > self.STEP_ENTER and rhythm >= self.STEP_TURNS:
            self.stepping = True
            # The style was stepping all along the foot turns that built up the rhythm: the
            # jumps counted over that stretch become its contacts.
            since = self._step_turns[0].time_s - self.MIN_INTERVAL_S
            reps = self.result.reps
            while reps and reps[-1].time_s >= since:
                reps.pop()
            return self._count(list(self._step_turns))
        if self.stepping:
            return self._count([step] if step is not None else [])
        return self._count([jump] if jump is not None and jump.kind == Turn.PEAK else [])

    def _count(self, turns: list[Extreme]) -> list[Rep]:
        reps = self.result.reps
        new: list[Rep] = []
        for turn in turns:
            last = new[-1] if new else (reps[-1] if reps else None)
            if math.isnan(turn.swing) or (
                last is not None and turn.time_s - last.time_s < self.MIN_INTERVAL_S
            ):
                continue
            new.append(Rep(turn.frame, turn.time_s, turn.swing))
        if not new:
            return []
        return [*new, *self._fill_gaps([*reps, *new])]

    def _fill_gaps(self, reps: list[Rep]) -> list[Rep]:
        """Turns the detectors missed, found from the rhythm: skipping is very regular.

        Among the last few reps, when most intervals agree and one gap is about two or three
        of them, the rope turns in that gap were too shallow for the threshold (or fell on
        frames without a pose); they are counted, evenly placed and flagged as inferred. A real
        rest is longer than three turns and is left alone.
        """
        window = reps[-(self.RHYTHM_WINDOW + 1) :]
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
                added.append(
                    Rep(
                        round(a.frame + (b.frame - a.frame) * share),
                        a.time_s + (b.time_s - a.time_s) * share,
                        math.nan,
                        (FormFlag.INFERRED,),
                    )
                )
        return added
