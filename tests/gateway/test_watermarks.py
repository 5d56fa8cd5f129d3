"""The gateway's stored watermarks: contiguous, kept across restarts, gaps skipped only late."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

from campusedge.contract import DeviceKind, TimeQuality
from gateway.state import StateDB
from gateway.store.base import StoredMessage
from gateway.watermarks import StoredWatermarks


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _msg(seq: int, device: str = "hr-1", school: str = "s1") -> StoredMessage:
    now = datetime.now(UTC)
    return StoredMessage(
        school=school,
        kind=DeviceKind.HR_BAND,
        device_id=device,
        seq=seq,
        ts=now,
        time_quality=TimeQuality.SYNCED,
        received_at=now,
        readings=(("heart_rate", 100.0, "bpm"),),
    )


def _boxes(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    return {pair: "box-1" for pair in pairs}


def _published(marks: StoredWatermarks) -> dict[str, dict[str, int]]:
    return {
        topic: json.loads(payload)["devices"]
        for topic, payload in marks.due(_boxes, lambda: [], force=True)
    }


def test_the_watermark_stops_at_a_gap_and_moves_when_it_is_filled(state_url: str) -> None:
    clock = Clock()
    marks = StoredWatermarks(StateDB(state_url), clock=clock)
    marks.observe([_msg(s) for s in (100, 101, 102, 104, 105)])
    assert _published(marks) == {"campus/s1/edge/box-1/cmd/stored": {"hr-1": 102}}
    marks.observe([_msg(103)])
    assert marks.seq("s1", "hr-1") == 105
    marks.observe([_msg(101)])  # a duplicate changes nothing
    assert marks.seq("s1", "hr-1") == 105


def test_watermarks_survive_a_restart(state_url: str) -> None:
    marks = StoredWatermarks(StateDB(state_url))
    marks.observe([_msg(s) for s in range(10, 20)])
    marks.due(_boxes, lambda: [], force=True)  # persisted when published
    again = StoredWatermarks(StateDB(state_url))
    assert again.seq("s1", "hr-1") == 19
    again.observe([_msg(21)])  # 20 is missing: after a restart a gap is still a gap
    assert again.seq("s1", "hr-1") == 19


def test_an_old_gap_is_given_up_so_one_lost_message_cannot_hold_a_box(state_url: str) -> None:
    clock = Clock()
    marks = StoredWatermarks(StateDB(state_url), clock=clock, gap_skip_s=600)
    marks.observe([_msg(1), _msg(3), _msg(4)])
    clock.now += 599
    marks.observe([])
    assert marks.seq("s1", "hr-1") == 1
    clock.now += 2
    marks.observe([])
    assert marks.seq("s1", "hr-1") == 4
    assert marks.gaps_skipped == 1


def test_schools_keep_apart_and_every_known_box_hears_a_heartbeat(state_url: str) -> None:
    clock = Clock()
    marks = StoredWatermarks(StateDB(state_url), clock=clock, heartbeat_s=10)
    marks.observe([_msg(5, school="s1"), _msg(9, school="s2")])
    first = marks.due(_boxes, lambda: [("s3", "box-9")])
    topics = {t for t, _ in first}
    assert topics == {
        "campus/s1/edge/box-1/cmd/stored",
        "campus/s2/edge/box-1/cmd/stored",
        "campus/s3/edge/box-9/cmd/stored",
    }
    clock.now += 1
    assert marks.due(_boxes, lambda: [("s3", "box-9")]) == []  # nothing new, no heartbeat yet
    clock.now += 10
    assert {t for t, _ in marks.due(_boxes, lambda: [("s3", "box-9")])} == topics
