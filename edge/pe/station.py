"""PE-station runner: camera frames in, live rep readings and finished-set events out.

`PeStation` is an iterator over `LiveUpdate` and `SetFinished` items carrying the wire
contract's `Reading` and `Event` objects. It does no publishing: on an edge box the station
runner (edge/station_runner.py) hands them to the agent, which wraps them in envelopes
(device id, sequence number) and sends them, so a set is counted the same whether it goes to
MQTT, a test, or a log. Its config is the pe_station driver's `Config` (one device on a box).

Iteration blocks on the camera; run it in its own thread. `process(frames)` takes any frame
sequence instead of opening the source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from campusedge.contract import Event, Reading
from campusedge.units import METRICS, Metric
from drivers.pe_station import Config, Exercise
from edge.pe.counters import COUNTERS, CountResult
from edge.pe.model import PoseModel, resolve_model
from edge.pe.pipeline import RepPipeline, infer_every
from edge.pe.video import DEFAULT_FPS, VideoFrame, VideoSource

EVENT_TYPE = "pe_set"


@dataclass(frozen=True)
class LiveUpdate:
    """The running count of the current set (published as a reading)."""

    ts: datetime
    frame: int
    readings: list[Reading]


@dataclass(frozen=True)
class SetFinished:
    """A finished set (published as an event)."""

    ts: datetime
    frame: int
    event: Event


StationOutput = LiveUpdate | SetFinished


def _readings(result: CountResult) -> list[Reading]:
    return [
        Reading(metric=Metric.REP_COUNT, value=result.count, unit=METRICS[Metric.REP_COUNT].unit),
        Reading(
            metric=Metric.CADENCE,
            value=round(result.cadence_per_min, 1),
            unit=METRICS[Metric.CADENCE].unit,
        ),
    ]


def set_event(config: Config, result: CountResult, start: datetime, end: datetime) -> Event:
    """The `pe_set` event of a finished set."""
    flags = result.form_flags
    attributes: dict[str, str | int | float | bool | None] = {
        "exercise": result.exercise.value,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "start_frame": result.reps[0].frame if result.reps else result.first_frame,
        "end_frame": result.reps[-1].frame if result.reps else result.last_frame,
        "form_flags": ",".join(sorted(flags)),
        "model": Path(config.model_file).name,
        "signal": result.signal,
        "quality": ",".join(reason.value for reason in result.quality.reasons),
    }
    if config.duration_s is not None:
        # A timed test (the gateway scores a 60 s rope-skip or sit-up set as the 1-min item).
        attributes["duration_s"] = config.duration_s
    for flag, count in sorted(flags.items()):
        attributes[f"form_{flag}"] = count
    return Event(type=EVENT_TYPE, readings=_readings(result), attributes=attributes)


def _exercise(config: Config) -> Exercise:
    if config.exercise is None:
        raise ValueError("the PE station's config names no exercise")
    return config.exercise


class PeStation:
    """Counts sets of one exercise on one camera; iterate to get live updates and finished sets.

    A set starts with its first rep and finishes after `set_idle_s` without a rep, when the
    source ends, or (a timed test, `duration_s`) that long after its first rep, counting only
    the reps inside that window. Live updates come when the count changed, at most once per
    `live_interval_s`.
    """

    def __init__(
        self,
        config: Config,
        *,
        model: PoseModel | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.exercise = _exercise(config)
        self.model = model or PoseModel(resolve_model(config.model_file), threads=config.threads)
        self._clock = clock

    def open(self) -> VideoSource:
        """The configured camera or file (SourceError if it cannot be opened)."""
        cfg = self.config
        return VideoSource(
            cfg.source,
            start_frame=cfg.start_frame,
            end_frame=cfg.end_frame,
            max_fps=cfg.max_fps,
            width=cfg.width,
            height=cfg.height,
        )

    def __iter__(self) -> Iterator[StationOutput]:
        with self.open() as source:
            yield from self.process(source, live=source.live, fps=source.fps)

    def process(
        self, frames: Iterable[VideoFrame], *, live: bool = False, fps: float = DEFAULT_FPS
    ) -> Iterator[StationOutput]:
        """Run over any frame sequence. Recorded video is stamped from its own frame times."""
        started = self._clock()
        cfg = self.config
        stride = cfg.infer_every or infer_every(fps, COUNTERS[self.exercise].sample_hz)

        def stamp(frame: VideoFrame) -> datetime:
            return self._clock() if live else started + timedelta(seconds=frame.time_s)

        pipeline = RepPipeline(self.model, self.exercise, stride=stride)
        last_live: float | None = None
        published = 0
        set_start: datetime | None = None
        last = None
        for frame in frames:
            last = frame
            step = pipeline.process(frame)
            result = step.result
            if step.new_reps and set_start is None:
                set_start = stamp(frame)
            if (
                result.count
                and result.count != published
                and (last_live is None or frame.time_s - last_live >= cfg.live_interval_s)
            ):
                yield LiveUpdate(stamp(frame), frame.index, _readings(result))
                published, last_live = result.count, frame.time_s
            idle = frame.time_s - result.reps[-1].time_s if result.reps else 0.0
            over = (
                cfg.duration_s is not None
                and bool(result.reps)
                and frame.time_s - result.reps[0].time_s >= cfg.duration_s
            )
            if result.reps and (idle >= cfg.set_idle_s or over):
                yield from self._finish(pipeline, set_start or stamp(frame), frame, stamp)
                pipeline.start_new_set()
                last_live, published, set_start = None, 0, None
        if last is not None and pipeline.counter.result.reps:
            yield from self._finish(pipeline, set_start or stamp(last), last, stamp)

    def _finish(
        self,
        pipeline: RepPipeline,
        start: datetime,
        frame: VideoFrame,
        stamp: Callable[[VideoFrame], datetime],
    ) -> Iterator[StationOutput]:
        pipeline.counter.finish()
        result = pipeline.counter.result
        if self.config.duration_s is not None and result.reps:
            # Reps after the test window do not count (the frame that closes it may add one).
            window_end = result.reps[0].time_s + self.config.duration_s
            result = replace(result, reps=[r for r in result.reps if r.time_s <= window_end])
        if result.count < self.config.min_set_reps:
            return
        end = stamp(frame)
        yield LiveUpdate(end, frame.index, _readings(result))
        yield SetFinished(end, frame.index, set_event(self.config, result, start, end))
