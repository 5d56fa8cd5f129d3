"""Several students at one station: each found by the person detector, tracked, counted per lane.

A school station films a row: two to four students skipping side by side, or doing sit-ups on
mats. The person detector finds everyone; each person is followed by their own landmark crop
(a `PoseTracker` that does not search on its own, so it cannot jump to a neighbour); and each
lane — a mat or a rope spot, configured as a band of the frame's width — has its own counter,
fed every frame by the tracked person whose hips are in it. A student is bound to a lane, not
to a track, so a track lost and found again, or replaced by a new one, keeps counting for the
same student.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edge.pe.counters import CountResult, Exercise, RepCounter, make_counter
from edge.pe.detector import Detection, PersonDetector
from edge.pe.model import PoseModel
from edge.pe.roi import Roi
from edge.pe.tracker import Pose, PoseTracker
from edge.pe.video import VideoFrame

# The detector runs at least this often, and at once when a lane has nobody tracked in it.
DETECT_EVERY_S = 1.0
# A track not seen for this long is dropped; its lane waits for the detector to find someone.
MAX_LOST_S = 1.0
# A detection whose hips are this close to a tracked person's (in crop sizes) is that person.
SAME_PERSON = 0.35


@dataclass(frozen=True)
class Lane:
    """A band of the frame's width where one student does the exercise."""

    name: str
    x0: float  # share of the frame's width, 0..1
    x1: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.x0 < self.x1 <= 1.0:
            raise ValueError(
                f"lane {self.name!r}: need 0 <= x0 < x1 <= 1, got {self.x0}, {self.x1}"
            )

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2.0


def even_lanes(count: int) -> list[Lane]:
    """*count* lanes of equal width, left to right, named 1..count."""
    if count < 1:
        raise ValueError("a station needs at least one lane")
    return [Lane(str(i + 1), i / count, (i + 1) / count) for i in range(count)]


@dataclass
class _Track:
    id: int
    tracker: PoseTracker
    centre: tuple[float, float]
    lost_s: float = 0.0
    pose: Pose | None = None

    @property
    def size(self) -> float:
        roi = self.tracker.roi
        return roi.size if roi is not None else 0.0


@dataclass
class CrowdFrame:
    """One frame's poses per lane (None: nobody there) and the reps each lane completed."""

    frame: VideoFrame
    poses: dict[str, Pose | None]
    new_reps: dict[str, int]
    inferred: bool = True


@dataclass
class CrowdPipeline:
    """Detector, trackers and one counter per lane; feed it the frames in order."""

    model: PoseModel
    detector: PersonDetector
    exercise: Exercise
    lanes: list[Lane]
    stride: int = 1
    counters: dict[str, RepCounter] = field(init=False)
    _tracks: list[_Track] = field(init=False, default_factory=list)
    _next_id: int = field(init=False, default=0)
    _seen: int = field(init=False, default=0)
    _prev_time: float | None = field(init=False, default=None)
    _last_detect: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        names = [lane.name for lane in self.lanes]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"lanes need distinct names, got {names}")
        self.counters = {lane.name: make_counter(self.exercise) for lane in self.lanes}

    def results(self) -> dict[str, CountResult]:
        return {name: counter.result for name, counter in self.counters.items()}

    def finish(self) -> None:
        """The clip or the set ended: each lane counts a last rep that is complete."""
        for counter in self.counters.values():
            counter.finish()

    def process(self, frame: VideoFrame) -> CrowdFrame:
        self._seen += 1
        if (self._seen - 1) % self.stride:
            return CrowdFrame(frame, {}, {}, inferred=False)
        dt = frame.time_s - self._prev_time if self._prev_time is not None else 0.0
        self._prev_time = frame.time_s
        width = frame.image.shape[1]
        if self._detection_due(frame.time_s, width):
            self._detect(frame)
        for track in self._tracks:
            track.pose = track.tracker.process(frame.image, dt)
            roi = track.tracker.roi
            if track.pose is not None and roi is not None:
                track.centre, track.lost_s = (roi.cx, roi.cy), 0.0
            else:
                track.lost_s += dt
        self._drop_duplicates_and_lost()
        poses = self._by_lane(width)
        new_reps: dict[str, int] = {}
        for name, counter in self.counters.items():
            pose = poses[name]
            added = counter.update(
                frame.index,
                frame.time_s,
                pose.keypoints if pose else None,
                pose.visibility if pose else None,
            )
            if added:
                new_reps[name] = len(added)
        return CrowdFrame(frame, poses, new_reps)

    def _detection_due(self, now: float, width: int) -> bool:
        if self._last_detect is None or now - self._last_detect >= DETECT_EVERY_S:
            return True
        covered = {self._lane_of(t.centre[0] / width) for t in self._tracks if t.lost_s == 0.0}
        return any(lane.name not in covered for lane in self.lanes)

    def _detect(self, frame: VideoFrame) -> None:
        self._last_detect = frame.time_s
        for found in self.detector.detect(frame.image):
            track = self._nearest(found)
            if track is None:
                tracker = PoseTracker(self.model, use_detector=False, search=False)
                tracker.follow(found.roi)
                self._tracks.append(_Track(self._next_id, tracker, _centre(found.roi)))
                self._next_id += 1
            elif track.lost_s > 0.0:
                # Found again after a short loss: the same person, crop from the detection.
                track.tracker.follow(found.roi)

    def _nearest(self, found: Detection) -> _Track | None:
        roi = found.roi
        best: _Track | None = None
        best_d = float("inf")
        for track in self._tracks:
            scale = max(track.size, roi.size)
            d = float(np.hypot(track.centre[0] - roi.cx, track.centre[1] - roi.cy)) / scale
            if d < SAME_PERSON and d < best_d:
                best, best_d = track, d
        return best

    def _drop_duplicates_and_lost(self) -> None:
        kept: list[_Track] = []
        # Two crops that slid onto the same person: the one that has been following them
        # longer (the lower id) keeps them.
        for track in sorted(self._tracks, key=lambda t: t.id):
            if track.lost_s > MAX_LOST_S:
                continue
            twin = any(
                float(np.hypot(k.centre[0] - track.centre[0], k.centre[1] - track.centre[1]))
                < SAME_PERSON * max(k.size, track.size, 1.0)
                for k in kept
            )
            if not twin:
                kept.append(track)
        self._tracks = kept

    def _lane_of(self, x: float) -> str | None:
        for lane in self.lanes:
            if lane.x0 <= x < lane.x1:
                return lane.name
        return None

    def _by_lane(self, width: int) -> dict[str, Pose | None]:
        chosen: dict[str, tuple[float, Pose]] = {}
        for track in self._tracks:
            if track.pose is None:
                continue
            x = track.centre[0] / width
            name = self._lane_of(x)
            if name is None:
                continue  # someone walking past outside every lane
            lane = next(lane for lane in self.lanes if lane.name == name)
            off = abs(x - lane.centre)
            if name not in chosen or off < chosen[name][0]:
                chosen[name] = (off, track.pose)
        return {
            lane.name: chosen[lane.name][1] if lane.name in chosen else None for lane in self.lanes
        }


def _centre(roi: Roi) -> tuple[float, float]:
    return (roi.cx, roi.cy)
