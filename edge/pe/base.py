"""What every rep counter shares: exercises, reps, set results, body scale and filters."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise
from statistics import median

import numpy as np
import numpy.typing as npt

from drivers.pe_station import Exercise as Exercise  # defined with the station's config
from edge.pe import features as ft

FloatArray = npt.NDArray[np.float32]

# A count is a measurement when the person was found in at least this share of the frames and
# the counter's signal in this share of those; a longer stretch without the person than
# MAX_GAP_S can hide several reps of any exercise.
MIN_SEEN_SHARE = 0.7
MAX_GAP_S = 2.0
# Tilt from the image's vertical, degrees, beyond which a body is across the frame: the torso
# more than this for a standing exercise; the legs (hips to ankles) less than ACROSS_LYING for
# one done lying down.
ACROSS_STANDING = 55.0
ACROSS_LYING = 30.0


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
    # How sure the counter is that this was a rep, 0..1: how well the body parts its signal
    # needs were seen over the rep, and how its swing compares with the set's typical rep.
    confidence: float = 1.0


class QualityReason(StrEnum):
    """Why a count may not be a measurement."""

    NO_FRAMES = "no_frames"  # the video or window held no frame
    NO_PERSON = "no_person"  # nobody was found in any frame
    PERSON_LOST = "person_lost"  # the person was not found in much of the set, or for long
    BODY_PARTS_HIDDEN = "body_parts_hidden"  # what the counter needs was out of frame or hidden
    CANNOT_OPEN = "cannot_open"  # the video could not be opened or read
    ROTATED = "rotated"  # the body lies across the frame: the video is turned (no metadata)


@dataclass(frozen=True)
class Quality:
    """Whether a count can be trusted as a measurement, and if not, why."""

    reasons: tuple[QualityReason, ...] = ()
    signal: str = ""  # which body signal the count came from
    detail: str = ""

    @property
    def ok(self) -> bool:
        return not self.reasons

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "reasons": [r.value for r in self.reasons],
            "signal": self.signal,
            "detail": self.detail,
        }


@dataclass
class CountResult:
    """The state of a set: what a live display and the finished-set event carry."""

    exercise: Exercise
    reps: list[Rep] = field(default_factory=list)
    frames: int = 0
    frames_with_pose: int = 0
    first_frame: int | None = None
    last_frame: int | None = None
    signal: str = ""  # the signal the reps were counted from (see each counter's specs)
    signal_frames: int = 0  # frames with a pose in which that signal could be measured
    longest_gap_s: float = 0.0  # the longest stretch without a pose after the person was found
    frames_across: int = 0  # frames whose body lay across the way the exercise is done

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

    @property
    def quality(self) -> Quality:
        """Reasons the count may be low or meaningless; none when it is a measurement."""
        reasons: list[QualityReason] = []
        detail = ""
        if self.frames == 0:
            reasons.append(QualityReason.NO_FRAMES)
        elif self.frames_with_pose == 0:
            reasons.append(QualityReason.NO_PERSON)
        else:
            seen = self.frames_with_pose / self.frames
            if seen < MIN_SEEN_SHARE or self.longest_gap_s > MAX_GAP_S:
                reasons.append(QualityReason.PERSON_LOST)
                detail = (
                    f"person found in {seen:.0%} of frames; longest gap {self.longest_gap_s:.1f} s"
                )
            if self.frames_across > 0.5 * self.frames_with_pose:
                # Heights are measured up the image: in a video turned on its side they are
                # sideways movements, and the count means nothing.
                reasons.append(QualityReason.ROTATED)
                across = self.frames_across / self.frames_with_pose
                detail = (detail + "; " if detail else "") + (
                    f"the body lay across the frame in {across:.0%} of the frames with a person: "
                    "turn the video upright"
                )
            measured = self.signal_frames / self.frames_with_pose
            if measured < MIN_SEEN_SHARE:
                reasons.append(QualityReason.BODY_PARTS_HIDDEN)
                detail = (detail + "; " if detail else "") + (
                    f"the body parts for {self.signal or 'counting'} were seen in "
                    f"{measured:.0%} of the frames with a person"
                )
        return Quality(tuple(reasons), self.signal, detail)


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
    # Done lying down (push-ups, sit-ups): the torso is near level, not upright.
    lying: bool = False

    def __init__(self) -> None:
        self.result = CountResult(self.exercise)
        self._scale = BodyScale()
        self._prev_time: float | None = None
        self._lost_since: float | None = None

    def update(
        self, frame: int, time_s: float, keypoints: FloatArray | None, visibility: FloatArray | None
    ) -> list[Rep]:
        """Feed one frame; returns the reps confirmed by it (usually none, sometimes one).

        `result` is the authority on the count: a counter may revise reps it counted in the
        last second or two (rope skipping re-counts them when it recognises the style).
        """
        dt = time_s - self._prev_time if self._prev_time is not None else 0.0
        self._prev_time = time_s
        result = self.result
        result.frames += 1
        result.first_frame = frame if result.first_frame is None else result.first_frame
        result.last_frame = frame
        if keypoints is None or visibility is None:
            if self._lost_since is None and result.frames_with_pose:
                self._lost_since = time_s
            if self._lost_since is not None:
                result.longest_gap_s = max(result.longest_gap_s, time_s - self._lost_since)
            return []
        self._lost_since = None
        result.frames_with_pose += 1
        # Lying down, hips and feet are on the floor (a sit-up's torso rises, its legs stay).
        tilt = (ft.legs_tilt if self.lying else ft.torso_tilt)(keypoints, visibility)
        if math.isfinite(tilt) and (tilt < ACROSS_LYING if self.lying else tilt > ACROSS_STANDING):
            result.frames_across += 1
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

    def finish(self) -> list[Rep]:
        """The set has ended: count a last rep whose working phase is complete but not yet
        confirmed by the movement back (a pull-up set that ends with the chin over the bar)."""
        return []

    @abstractmethod
    def _restart_signals(self) -> None:
        """Forget signal history (filters, turn detectors); the count is kept."""

    @abstractmethod
    def _step(
        self, frame: int, time_s: float, dt: float, k: FloatArray, v: FloatArray, unit: float
    ) -> list[Rep]: ...
