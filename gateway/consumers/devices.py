"""The device registry consumer: statuses and last-seen times of committed messages."""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from campusedge.contract import Status
from gateway.devices import Devices
from gateway.store.commit_log import Committed


class DeviceRegistryConsumer:
    """Records each status and, per step, each device's newest message time and count."""

    name = "devices"
    savepoints = False  # gathers in memory; `finish` writes the step's changes at once

    def __init__(self, devices: Devices) -> None:
        self.devices = devices
        self._statuses: list[tuple[str, Status, datetime]] = []
        self._seen: dict[tuple[str, str, str], tuple[datetime, int]] = {}

    def exclusive(self) -> AbstractContextManager[object]:
        return contextlib.nullcontext()

    def wants(self, entry: Committed) -> bool:
        return entry.message is not None or entry.status is not None

    def handle(self, entry: Committed) -> None:
        if entry.status is not None:
            school, status = entry.status
            self._statuses.append((school, status, datetime.now(UTC)))
        elif entry.message is not None:
            m = entry.message
            key = (m.school, m.device_id, m.kind.value)
            last, count = self._seen.get(key, (m.received_at, 0))
            self._seen[key] = (max(last, m.received_at), count + 1)

    def finish(self) -> None:
        statuses, seen = self._statuses, self._seen
        self._statuses, self._seen = [], {}
        self.devices.apply(
            statuses,
            [(school, dev, kind, at, n) for (school, dev, kind), (at, n) in seen.items()],
        )
