"""PE-station runner: camera frames in, live rep readings and finished-set events out.

`PeStation` is an iterator over `LiveUpdate` and `SetFinished` items carrying the wire
contract's `Reading` and `Event` objects. It does no publishing: the edge agent wraps them in
envelopes (device id, sequence number) and sends them, so a set is counted the same whether it
goes to MQTT, a test, or a log. For example:

    config = load_config(firmware_configs_dir() / "pe_station_gym.yaml")
    for item in PeStation(config):
        if isinstance(item, LiveUpdate):
            publish_readings(config.device_id, item.ts, item.readings)   # the agent's code
        else:
            publish_event(config.device_id, item.ts, item.event)

Iteration blocks on the camera; run it in its own thread (or process) next to the agent's
publisher. `process(frames)` takes any frame sequence instead of opening the source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from campusedge.contract import Event, Reading
from campusedge.units import METRICS, Metric
from edge.pe.config import Config
from edge.pe.counters import COUNTERS, CountResult
from edge.pe.model import PoseModel
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
        Reading(metric=Metric.CADENCE, value=round(result.cadence_per_min, 1),
                unit=METRICS[Metric.CADENCE].unit),
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
        "model": config.model_path().name,
    }
    for flag, count in sorted(flags.items()):
        attributes[f"form_{flag}"] = count
    return Event(type=EVENT_TYPE, readings=_readings(result), attributes=attributes)


def _is_live(source: int | str) -> bool:
    return isinstance(source, int) or "://" in source


class PeStation:
    """Counts sets of one exercise on one camera; iterate to get live updates and finished sets.

    A set starts with its first rep and finishes after `set_idle_s` without a rep or when the
    source ends. Live updates come when the count changed, at most once per `live_interval_s`.
    """

    def __init__(self, config: Config, *, model: PoseModel | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.config = config
        self.model = model or PoseModel(config.model_path(), threads=config.threads)
        self._clock = clock

    def __iter__(self) -> Iterator[StationOutput]:
        source = VideoSource(self.config.source, start_frame=self.config.start_frame,
                             end_frame=self.config.end_frame)
        with source:
            yield from self.process(source, live=_is_live(self.config.source), fps=source.fps)

    def process(self, frames: Iterable[VideoFrame], *, live: bool = False,
                fps: float = DEFAULT_FPS) -> Iterator[StationOutput]:
        """Run over any frame sequence. Recorded video is stamped from its own frame times."""
        started = self._clock()
        cfg = self.config
        stride = cfg.infer_every or infer_every(fps, COUNTERS[cfg.exercise].sample_hz)

        def stamp(frame: VideoFrame) -> datetime:
            return self._clock() if live else started + timedelta(seconds=frame.time_s)

        pipeline = RepPipeline(self.model, cfg.exercise, stride=stride)
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
            if result.count and result.count != published and (
                    last_live is None or frame.time_s - last_live >= cfg.live_interval_s):
                yield LiveUpdate(stamp(frame), frame.index, _readings(result))
                published, last_live = result.count, frame.time_s
            idle = frame.time_s - result.reps[-1].time_s if result.reps else 0.0
            if result.reps and idle >= cfg.set_idle_s:
                yield from self._finish(pipeline, set_start or stamp(frame), frame, stamp)
                pipeline.start_new_set()
                last_live, published, set_start = None, 0, None
        if last is not None and pipeline.counter.result.reps:
            yield from self._finish(pipeline, set_start or stamp(last), last, stamp)

    def _finish(self, pipeline: RepPipeline, start: datetime, frame: VideoFrame,
                stamp: Callable[[VideoFrame], datetime]) -> Iterator[StationOutput]:
        result = pipeline.counter.result
        if result.count < self.config.min_set_reps:
            return
        end = stamp(frame)
        yield LiveUpdate(end, frame.index, _readings(result))
        yield SetFinished(end, frame.index, set_event(self.config, result, start, end))
