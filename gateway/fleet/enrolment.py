"""Strict enrolment: ingest admits only devices the fleet registry lists under their school."""

from __future__ import annotations

import logging
import time

from campusedge.topics import DeviceKind
from gateway.fleet.registry import Enrolled, FleetRegistry

log = logging.getLogger(__name__)

UNKNOWN_DEVICE_REASON = "unknown_device"


class Enrolment:
    """An in-memory copy of the registry's enrolled (school, device) pairs and their boxes.

    Ingest asks about every message, so the answer is a dictionary lookup; the copy is read
    again only when the registry's change counter moved. The counter is looked at every
    `refresh_s`, and also whenever a batch holds a device the copy does not know, so that a
    box enrolled a moment ago (the broker reloads after the registry commits) is admitted from
    its first message, at the cost of one read by primary key per such batch, never one per
    message.
    """

    def __init__(self, registry: FleetRegistry, refresh_s: float = 5.0) -> None:
        self.registry = registry
        self.refresh_s = refresh_s
        self._enrolled = registry.enrolled()
        self._checked = time.monotonic()

    @property
    def generation(self) -> int:
        return self._enrolled.generation

    def refresh(self, *, now: bool = False) -> None:
        """Read the registry again if it changed; with *now*, look at once, else only when
        the last look is `refresh_s` old. A registry that cannot be read keeps the copy."""
        at = time.monotonic()
        if not now and at - self._checked < self.refresh_s:
            return
        self._checked = at
        try:
            if self.registry.generation() != self._enrolled.generation:
                self._enrolled = self.registry.enrolled()
                log.info(
                    "enrolled devices reread (registry generation %d: %d devices, %d boxes)",
                    self._enrolled.generation,
                    len(self._enrolled.devices),
                    len(self._enrolled.boxes),
                )
        except Exception:  # ingest goes on with what it knew; the next look tries again
            log.exception("could not read the fleet registry; enrolled devices not refreshed")

    def refusal(
        self, school: str, device_id: str, kind: DeviceKind, claimed_box: str | None = None
    ) -> str | None:
        """Why a message of *device_id* of *school* (a status claiming *claimed_box*) is
        refused, or None when it is admitted."""
        return _refusal(self._enrolled, school, device_id, kind, claimed_box)


def _refusal(
    enrolled: Enrolled, school: str, device_id: str, kind: DeviceKind, claimed_box: str | None
) -> str | None:
    if kind is DeviceKind.EDGE:
        if (school, device_id) in enrolled.boxes:
            return None
        return (
            f"edge box {device_id} is not enrolled in school {school}: enrol it with "
            f"`campusedge provision box --school {school} --box {device_id}`"
        )
    box = enrolled.devices.get((school, device_id))
    if box is None:
        return (
            f"device {device_id} is not enrolled in school {school}: add it to its box with "
            f"`campusedge provision box --school {school} --box BOX --device {device_id}` "
            "(with the box's other devices)"
        )
    if claimed_box is not None and claimed_box != box:
        return (
            f"the status of device {device_id} of school {school} claims edge box "
            f"{claimed_box}, but the registry lists it under box {box}"
        )
    return None
