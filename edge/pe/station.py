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
from edge.pe.counters import COUNTERS, CountResult, RepCounter, make_counter
from edge.pe.crowd import CrowdPipeline, Lane
from edge.pe.detector import PersonDetector
from edge.pe.model import PoseModel, resolve_model
from edge.pe.pipeline import SOLO, RepPipeline, infer_every
from edge.pe.video import DEFAULT_FPS, VideoFrame, VideoSource

EVENT_TYPE = "pe_set"


@dataclass(frozen=True)
class LiveUpdate:
    """The running count of the current set (published as a reading)."""

    ts: datetime
    frame: int
    readings: list[Reading]
    device_id: str | None = None  # a lane's device; None: the station's own


@dataclass(frozen=True)
class SetFinished:
    """A finished set (published as an event)."""

    ts: datetime
    frame: int
    event: Event
    device_id: str | None = None  # a lane's device; None: the station's own


StationOutput = LiveUpdate | SetFinished


@dataclass
class _Slot:
    """One counter's set in progress: the station's own, or a lane's."""

    counters: dict[str, RepCounter]  # where the counter lives (replaced at each new set)
    key: str
    device_id: str | None
    set_start: datetime | None = None
    last_live: float | None = None
    published: int = 0

    @property
    def counter(self) -> RepCounter:
        return self.counters[self.key]


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
        detector: PersonDetector | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.exercise = _exercise(config)
        self.model = model or PoseModel(resolve_model(config.model_file), threads=config.threads)
        # Loaded when the station has lanes and none is handed in.
        self.detector = detector
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

        step: Callable[[VideoFrame], object]
        if cfg.lanes:
            crowd = CrowdPipeline(
                self.model,
                self.detector or PersonDetector(resolve_model(cfg.detector_file), cfg.threads),
                self.exercise,
                [Lane(lane.device_id, lane.x0, lane.x1) for lane in cfg.lanes],
                stride=stride,
            )
            step = crowd.process
            slots = [_Slot(crowd.counters, lane.device_id, lane.device_id) for lane in cfg.lanes]
        else:
            pipeline = RepPipeline(self.model, self.exercise, stride=stride)
            step = pipeline.process
            slots = [_Slot(pipeline.counters, SOLO, None)]
        last = None
        for frame in frames:
            last = frame
            step(frame)
            for slot in slots:
                yield from self._follow(slot, frame, stamp)
        if last is not None:
            for slot in slots:
                if slot.counter.result.reps:
                    yield from self._finish(slot, slot.set_start or stamp(last), last, stamp)

    def _follow(
        self, slot: _Slot, frame: VideoFrame, stamp: Callable[[VideoFrame], datetime]
    ) -> Iterator[StationOutput]:
        """Live updates of one counter's set, and the set's end."""
        cfg = self.config
        result = slot.counter.result
        if result.reps and slot.set_start is None:
            slot.set_start = stamp(frame)
        if (
            result.count
            and result.count != slot.published
            and (slot.last_live is None or frame.time_s - slot.last_live >= cfg.live_interval_s)
        ):
            yield LiveUpdate(stamp(frame), frame.index, _readings(result), slot.device_id)
            slot.published, slot.last_live = result.count, frame.time_s
        idle = frame.time_s - result.reps[-1].time_s if result.reps else 0.0
        over = (
            cfg.duration_s is not None
            and bool(result.reps)
            and frame.time_s - result.reps[0].time_s >= cfg.duration_s
        )
        if result.reps and (idle >= cfg.set_idle_s or over):
            yield from self._finish(slot, slot.set_start or stamp(frame), frame, stamp)
            slot.counters[slot.key] = make_counter(self.exercise)
            slot.last_live, slot.published, slot.set_start = None, 0, None

    def _finish(
        self,
        slot: _Slot,
        start: datetime,
        frame: VideoFrame,
        stamp: Callable[[VideoFrame], datetime],
    ) -> Iterator[StationOutput]:
        slot.counter.finish()
        result = slot.counter.result
        if self.config.duration_s is not None and result.reps:
            # Reps after the test window do not count (the frame that closes it may add one).
            window_end = result.reps[0].time_s + self.config.duration_s
            result = replace(result, reps=[r for r in result.reps if r.time_s <= window_end])
        if result.count < self.config.min_set_reps:
            return
        end = stamp(frame)
        yield LiveUpdate(end, frame.index, _readings(result), slot.device_id)
        event = set_event(self.config, result, start, end)
        yield SetFinished(end, frame.index, event, slot.device_id)
