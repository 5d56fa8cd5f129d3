"""Results made on the box itself (pose inference on a camera), as the agent's queue takes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from campusedge.contract import Event, Reading, TimeQuality
from campusedge.topics import DeviceKind


@dataclass(frozen=True)
class Submitted:
    """A result made on the box itself (pose inference on a PE-station camera), to publish.

    Producers call `EdgeAgent.submit` from their own thread; the agent numbers, buffers and
    publishes these like decoded device frames.
    """

    device_id: str
    kind: DeviceKind
    ts: datetime
    time_quality: TimeQuality
    readings: list[Reading] = field(default_factory=list)
    event: Event | None = None
    firmware: str | None = None
