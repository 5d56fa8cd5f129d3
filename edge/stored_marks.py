"""Messages the broker acknowledged, kept until the gateway says they are stored, resent if lost.

The broker's PUBACK only says the broker has a message; a broker that crashes before it saves
it loses it. So the box keeps each message until the gateway's stored watermark (highest seq
up to which a device's messages are all stored, retained on `…/edge/{box}/cmd/stored`) covers
it. A message the watermark does not reach is sent again when the gateway is evidently alive
(its watermarks keep coming) but has not moved past that device's watermark for
`resend_after_s`: the gateway missed it. While the gateway is away nothing is resent, so an
outage does not fill the broker with copies; while it works through a backlog its watermarks
move, so nothing is resent either.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from campusedge.contract import STORED_HEARTBEAT_S, StoredWatermark


@dataclass(frozen=True, slots=True)
class Sent:
    """A buffered message the broker has acknowledged."""

    device_id: str
    seq: int
    acked_at: float


class StoredMarks:
    """What the box has sent and the gateway has not yet confirmed. The agent's loop owns it."""

    def __init__(self, resend_after_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.resend_after_s = resend_after_s
        self._clock = clock
        self._sent: dict[int, Sent] = {}  # buffer entry id -> what it holds
        self._marks: dict[str, tuple[int, float]] = {}  # device -> (watermark, since when)
        self._last_mark_at: float | None = None
        self.resent = 0

    def __len__(self) -> int:
        return len(self._sent)

    def acked(self, entries: Iterable[tuple[int, str, int]]) -> None:
        """(entry id, device id, seq) of entries the broker acknowledged."""
        now = self._clock()
        for entry_id, device_id, seq in entries:
            self._sent[entry_id] = Sent(device_id, seq, now)

    def watermark(self, mark: StoredWatermark) -> dict[str, int]:
        """Take the gateway's watermark; returns, per device, the seq to delete up to."""
        now = self._clock()
        self._last_mark_at = now
        for device_id, seq in mark.devices.items():
            old = self._marks.get(device_id)
            if old is None or seq > old[0]:
                self._marks[device_id] = (seq, now)
        covered = {d: self._marks[d][0] for d in mark.devices}
        self._sent = {
            i: s
            for i, s in self._sent.items()
            if s.device_id not in covered or s.seq > covered[s.device_id]
        }
        return covered

    def due(self, limit: int) -> list[int]:
        """Entry ids to send again now (oldest first, at most *limit*); they leave this set."""
        now = self._clock()
        after = self.resend_after_s
        if limit <= 0 or not self.seen_alive():
            return []  # no sign of a gateway at work: resending would only pile up copies
        out = []
        for entry_id, sent in sorted(self._sent.items()):
            if now - sent.acked_at <= after:
                continue
            mark = self._marks.get(sent.device_id)
            if mark is not None and now - mark[1] <= after:
                continue  # the gateway is still moving through this device's messages
            out.append(entry_id)
            if len(out) >= limit:
                break
        for entry_id in out:
            del self._sent[entry_id]
        self.resent += len(out)
        return out

    def ids(self) -> list[int]:
        return list(self._sent)

    def forget(self, entry_ids: Iterable[int]) -> None:
        """Entries gone from the buffer otherwise (dropped under its bound)."""
        for entry_id in entry_ids:
            self._sent.pop(entry_id, None)

    def seen_alive(self) -> bool:
        """Whether the gateway's watermarks are coming (it repeats them as a heartbeat)."""
        last = self._last_mark_at
        return last is not None and self._clock() - last <= 2.5 * STORED_HEARTBEAT_S
