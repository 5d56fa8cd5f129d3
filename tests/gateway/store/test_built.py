"""The hot path's message builders make what the dataclass makes, field for field."""

from __future__ import annotations

import dataclasses

from campusedge.contract import TimeQuality
from campusedge.topics import DeviceKind
from gateway.store.base import StoredMessage, bound, built
from tests.gateway.store.conftest import T0


def test_built_and_bound_equal_the_dataclass_and_set_every_field() -> None:
    readings = (("heart_rate", 120.0, "bpm"),)
    args = ("sch-a", DeviceKind.HR_BAND, "hr-01", 7, T0, TimeQuality.SYNCED, T0, readings)
    fast = built(*args)
    slow = StoredMessage(*args)
    assert fast == slow and hash(fast) == hash(slow)
    # A field added to StoredMessage and forgotten here would be missing from the object.
    assert set(vars(fast)) == {f.name for f in dataclasses.fields(StoredMessage)}
    assert bound(fast, "stu-1", "pe-1") == dataclasses.replace(
        slow, student_id="stu-1", lesson_id="pe-1"
    )
    assert fast.student_id is None  # bound made a new message
    try:
        fast.seq = 8  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("a built message must stay frozen")
