"""Frames in, counted set out: video source -> tracked pose -> exercise counter."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from edge.pe.counters import CountResult, Exercise, Rep, RepCounter, make_counter
from edge.pe.model import PoseModel
from edge.pe.tracker import Pose, PoseTracker
from edge.pe.video import VideoFrame, VideoSource


@dataclass(frozen=True)
class FrameResult:
    """What one frame produced: its pose (None if nobody was found) and any reps it completed."""

    frame: VideoFrame
    pose: Pose | None
    new_reps: list[Rep]
    result: CountResult


class RepPipeline:
    """Tracker and counter for one person doing one exercise; feed it frames in order."""

    def __init__(self, model: PoseModel, exercise: Exercise | str) -> None:
        self.tracker = PoseTracker(model)
        self.counter: RepCounter = make_counter(exercise)
        self._prev_time: float | None = None

    def start_new_set(self) -> None:
        """A fresh counter for the next set; the tracker keeps following the person."""
        self.counter = make_counter(self.counter.exercise)

    def process(self, frame: VideoFrame) -> FrameResult:
        dt = frame.time_s - self._prev_time if self._prev_time is not None else 0.0
        self._prev_time = frame.time_s
        pose = self.tracker.process(frame.image, dt)
        new = self.counter.update(frame.index, frame.time_s,
                                  pose.keypoints if pose else None,
                                  pose.visibility if pose else None)
        return FrameResult(frame, pose, new, self.counter.result)

    def run(self, frames: Iterable[VideoFrame]) -> Iterator[FrameResult]:
        for frame in frames:
            yield self.process(frame)


@dataclass(frozen=True)
class VideoCount:
    """The result of counting a whole clip, with the measured throughput."""

    result: CountResult
    frames: int
    seconds: float

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, object]:
        return {"count": self.result.count, "reps": [r.frame for r in self.result.reps],
                "frames": self.frames, "fps": round(self.fps, 1)}


def count_video(path: str | Path, exercise: Exercise | str, *, model: PoseModel,
                start_frame: int = 0, end_frame: int | None = None) -> VideoCount:
    """Count the reps of *exercise* in a video file; time includes decoding."""
    pipeline = RepPipeline(model, exercise)
    frames = 0
    started = time.perf_counter()
    with VideoSource(path, start_frame=start_frame, end_frame=end_frame) as source:
        for _ in pipeline.run(source):
            frames += 1
    return VideoCount(pipeline.counter.result, frames, time.perf_counter() - started)
