"""PeStation: live rep readings and finished-set events as wire-contract objects."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from campusedge.contract import EventMessage, ReadingMessage, TimeQuality
from campusedge.topics import DeviceKind
from campusedge.units import Metric
from drivers.pe_station import Config
from edge.pe.model import PoseModel
from edge.pe.station import EVENT_TYPE, LiveUpdate, PeStation, SetFinished
from edge.pe.synthetic import draw_jack
from edge.pe.video import VideoFrame
from tests.edge.pe.conftest import JACKS

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def test_one_set_from_a_file(jacks_clip: Path, pose_model: PoseModel) -> None:
    config = Config(
        source=f"file:{jacks_clip}",
        exercise="jumping_jack",
        live_interval_s=0.5,
        set_idle_s=3.0,
        max_fps=30,
    )
    outputs = list(PeStation(config, model=pose_model, clock=lambda: T0))
    live = [o for o in outputs if isinstance(o, LiveUpdate)]
    done = [o for o in outputs if isinstance(o, SetFinished)]
    assert len(done) == 1
    counts = [next(r.value for r in o.readings if r.metric is Metric.REP_COUNT) for o in live]
    assert counts == sorted(counts) and counts[-1] == JACKS
    event = done[0].event
    assert event.type == EVENT_TYPE
    values = {r.metric: r.value for r in event.readings}
    assert values[Metric.REP_COUNT] == JACKS
    assert 40 <= values[Metric.CADENCE] <= 60  # one jack every 1.2 s
    assert event.attributes["exercise"] == "jumping_jack"
    assert event.attributes["start"] < event.attributes["end"]  # ISO strings sort by time
    # The signal the count came from, and no reason to doubt it.
    assert event.attributes["signal"] == "wrists_over_shoulders"
    assert event.attributes["quality"] == ""
    assert "duration_s" not in event.attributes  # not a timed test
    # The edge agent can wrap both in envelopes unchanged.
    EventMessage(
        device_id="pe-test-1",
        kind=DeviceKind.PE_STATION,
        seq=1,
        ts=done[0].ts,
        time_quality=TimeQuality.ESTIMATED,
        event=event,
    )
    ReadingMessage(
        device_id="pe-test-1",
        kind=DeviceKind.PE_STATION,
        seq=0,
        ts=live[0].ts,
        time_quality=TimeQuality.ESTIMATED,
        readings=live[0].readings,
    )


def _frames(phases: list[float]) -> list[VideoFrame]:
    return [VideoFrame(i, i / 30.0, draw_jack(320, 180, p)) for i, p in enumerate(phases)]


def test_a_long_rest_splits_two_sets(pose_model: PoseModel) -> None:
    per = 30  # one jack a second
    rest = [0.0] * 15
    jacks = [i / per for i in range(per)] * 2
    phases = rest + jacks + [0.0] * 100 + jacks + rest
    config = Config(source="usb:0", exercise="jumping_jack", set_idle_s=2.5, min_set_reps=1)
    station = PeStation(config, model=pose_model, clock=lambda: T0)
    done = [o for o in station.process(_frames(phases)) if isinstance(o, SetFinished)]
    counts = [next(r.value for r in o.event.readings if r.metric is Metric.REP_COUNT) for o in done]
    assert counts == [2, 2]


def test_a_timed_set_ends_with_its_window_and_says_how_long(pose_model: PoseModel) -> None:
    per = 30
    jacks = [i / per for i in range(per)] * 8  # eight jacks, one a second
    phases = [0.0] * 15 + jacks + [0.0] * 15
    config = Config(source="usb:0", exercise="jumping_jack", duration_s=5, set_idle_s=10)
    station = PeStation(config, model=pose_model, clock=lambda: T0)
    done = [o for o in station.process(_frames(phases)) if isinstance(o, SetFinished)]
    assert done, "the timed set was not reported"
    first = done[0].event
    assert first.attributes["duration_s"] == 5
    assert first.attributes["exercise"] == "jumping_jack"
    count = next(r.value for r in first.readings if r.metric is Metric.REP_COUNT)
    assert 5 <= count <= 6  # one jack a second, counted from the first within 5 s
