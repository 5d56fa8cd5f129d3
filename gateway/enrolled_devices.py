"""Which devices have metric series of their own: the registry's answer, remembered a while."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from gateway.devices import Devices

# A device not enrolled yet is asked about again after this long: a device that has just sent
# its first status gets its own series within it.
NOT_ENROLLED_TTL_S = 10.0
# Ids of devices not enrolled come from topics anyone allowed to publish chooses: past this
# many remembered, the lapsed ones are forgotten.
NOT_ENROLLED_MAX = 100_000


class EnrolledDevices:
    """Remembers which (school, device) are enrolled: for good once they are (a device stays in
    the registry), for NOT_ENROLLED_TTL_S when not. Ingest asks after every batch, and a
    district worker's batch holds many devices: asked each time, the state database's round
    trip sat before every acknowledgement."""

    def __init__(self, devices: Devices, clock: Callable[[], float] = time.monotonic) -> None:
        self.devices = devices
        self.clock = clock
        self._enrolled: set[tuple[str, str]] = set()
        self._not_until: dict[tuple[str, str], float] = {}

    def of(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Those of *pairs* that are enrolled (raises as `Devices.enrolled_pairs` does)."""
        now = self.clock()
        wanted = set(pairs)
        unknown = {
            p for p in wanted - self._enrolled if self._not_until.get(p, float("-inf")) <= now
        }
        if unknown:
            found = self.devices.enrolled_pairs(unknown)
            self._enrolled |= found
            if len(self._not_until) > NOT_ENROLLED_MAX:
                self._not_until = {p: t for p, t in self._not_until.items() if t > now}
            for pair in unknown - found:
                self._not_until[pair] = now + NOT_ENROLLED_TTL_S
        return wanted & self._enrolled
