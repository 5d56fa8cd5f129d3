"""The box's side of stored watermarks: delete what is covered, resend only what was missed."""

from __future__ import annotations

from datetime import UTC, datetime

from campusedge.contract import StoredWatermark
from edge.stored_marks import StoredMarks


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def _mark(**devices: int) -> StoredWatermark:
    return StoredWatermark(edge_id="box-1", ts=datetime.now(UTC), devices=devices)


def test_covered_entries_go_and_nothing_is_resent_without_a_gateway() -> None:
    clock = Clock()
    marks = StoredMarks(resend_after_s=5, clock=clock)
    marks.acked([(1, "hr-1", 10), (2, "hr-1", 11), (3, "hr-2", 7)])
    clock.now += 100
    assert marks.due(10) == []  # no watermark ever: the gateway may be away
    assert marks.watermark(_mark(**{"hr-1": 10})) == {"hr-1": 10}
    assert sorted(marks.ids()) == [2, 3]


def test_a_stuck_watermark_resends_what_the_gateway_missed() -> None:
    clock = Clock()
    marks = StoredMarks(resend_after_s=5, clock=clock)
    marks.acked([(1, "hr-1", 10), (2, "hr-1", 11)])
    marks.watermark(_mark(**{"hr-1": 10}))
    clock.now += 3
    marks.watermark(_mark(**{"hr-1": 10}))  # a heartbeat: the gateway is there, not moving
    assert marks.due(10) == []  # not yet resend_after_s
    clock.now += 3
    assert marks.due(10) == [2]
    assert marks.resent == 1 and len(marks) == 0


def test_a_moving_watermark_means_a_busy_gateway_and_no_resend() -> None:
    clock = Clock()
    marks = StoredMarks(resend_after_s=5, clock=clock)
    marks.acked([(i, "hr-1", 100 + i) for i in range(50)])
    for step in range(10):
        clock.now += 1
        marks.watermark(_mark(**{"hr-1": 100 + step}))
    assert marks.due(100) == []


def test_a_gateway_silent_for_long_is_taken_as_away() -> None:
    clock = Clock()
    marks = StoredMarks(resend_after_s=5, clock=clock)
    marks.acked([(1, "hr-1", 10)])
    marks.watermark(_mark())
    clock.now += 60
    assert not marks.seen_alive()
    assert marks.due(10) == []
