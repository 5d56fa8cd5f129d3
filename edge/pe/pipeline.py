"""Frames in, counted set out: video source -> tracked pose -> exercise counter."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from edge.pe.counters import COUNTERS, CountResult, Exercise, Rep, RepCounter, make_counter
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
    inferred: bool = True  # False: a frame skipped by the stride (pose is then None)


def infer_every(source_fps: float, sample_hz: float) -> int:
    """Run the model on every n-th frame so that it still sees about `sample_hz` frames a second.

    A 30 fps camera gives n = 1 for rope skipping and n = 2 for the slow exercises; frames in
    between are decoded but not inferred (the person moves little in 1/30 s).
    """
    return max(1, round(source_fps / sample_hz))


class RepPipeline:
    """Tracker and counter for one person doing one exercise; feed it frames in order.

    `stride` = run the model on every n-th frame (see `infer_every`); 1 = every frame.
    """

    def __init__(self, model: PoseModel, exercise: Exercise | str, *, stride: int = 1) -> None:
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        self.tracker = PoseTracker(model)
        self.counter: RepCounter = make_counter(exercise)
        self.stride = stride
        self._prev_time: float | None = None
        self._seen = 0

    def start_new_set(self) -> None:
        """A fresh counter for the next set; the tracker keeps following the person."""
        self.counter = make_counter(self.counter.exercise)

    def process(self, frame: VideoFrame) -> FrameResult:
        self._seen += 1
        if (self._seen - 1) % self.stride:
            return FrameResult(frame, None, [], self.counter.result, inferred=False)
        dt = frame.time_s - self._prev_time if self._prev_time is not None else 0.0
        self._prev_time = frame.time_s
        pose = self.tracker.process(frame.image, dt)
        new = self.counter.update(
            frame.index,
            frame.time_s,
            pose.keypoints if pose else None,
            pose.visibility if pose else None,
        )
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
        quality = self.result.quality
        return {
            # A count that is not a measurement is not given as one (see `quality`).
            "count": self.result.count if quality.ok else None,
            "counted": self.result.count,
            "reps": [r.frame for r in self.result.reps],
            "rep_confidence": [r.confidence for r in self.result.reps],
            "frames": self.frames,
            "fps": round(self.fps, 1),
            "quality": quality.to_json(),
        }


def count_video(
    path: str | Path,
    exercise: Exercise | str,
    *,
    model: PoseModel,
    start_frame: int = 0,
    end_frame: int | None = None,
    stride: int | None = None,
) -> VideoCount:
    """Count the reps of *exercise* in a video file; time includes decoding.

    `stride` None picks it from the video's frame rate and the exercise (`infer_every`).
    """
    frames = 0
    started = time.perf_counter()
    with VideoSource(Path(path), start_frame=start_frame, end_frame=end_frame) as source:
        counter_type = COUNTERS[Exercise(exercise)]
        step = stride or infer_every(source.fps, counter_type.sample_hz)
        pipeline = RepPipeline(model, exercise, stride=step)
        for _ in pipeline.run(source):
            frames += 1
        pipeline.counter.finish()
    return VideoCount(pipeline.counter.result, frames, time.perf_counter() - started)
