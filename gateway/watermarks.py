"""Per device, the highest sequence number up to which everything is stored; told to its edge box.

A box deletes a message from its buffer only once this watermark covers it (not on the
broker's PUBACK), so messages a broker acknowledged and then lost in a crash are still on the
box, which sends them again (`edge.agent`); the store's idempotency absorbs the copies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from campusedge.contract import STORED_HEARTBEAT_S, StoredWatermark
from campusedge.topics import stored_topic
from gateway.state import StateDB, upsert_rows
from gateway.store.base import StoredMessage
from gateway.tables.ingest import stored_watermarks

log = logging.getLogger(__name__)

# Seqs stored above a gap that are remembered per device while the gap waits to be filled; a
# device past it has its gap skipped at once (the box resends within a minute, so a gap this
# long is a message the box no longer has).
MAX_ABOVE = 50_000


@dataclass
class _Device:
    seq: int  # everything up to here is stored
    above: set[int] = field(default_factory=set)  # stored, beyond a gap
    gap_since: float | None = None  # monotonic time the current gap was first seen
    changed: bool = False  # not yet persisted and published


class StoredWatermarks:
    """Kept by ingest's writer thread: `observe` each committed batch, `due` to publish.

    `gap_skip_s`: a gap (a seq never stored while later ones were) older than this is given up
    as lost for good (the box dropped it under its buffer bound, or a device skipped it), so
    that one missing message cannot hold a box's whole buffer.
    """

    def __init__(
        self,
        db: StateDB,
        *,
        publish_every_s: float = 1.0,
        heartbeat_s: float = STORED_HEARTBEAT_S,
        gap_skip_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.publish_every_s = publish_every_s
        self.heartbeat_s = heartbeat_s
        self.gap_skip_s = gap_skip_s
        self._clock = clock
        self._devices: dict[tuple[str, str], _Device] = {
            (r["school"], r["device_id"]): _Device(int(r["seq"]))
            for r in db.query(select(stored_watermarks))
        }
        self._last_publish = 0.0
        self._gapped: set[tuple[str, str]] = set()  # devices with seqs stored beyond a gap
        self._box_marks: dict[tuple[str, str], dict[str, int]] = {}
        self._box_published: dict[tuple[str, str], float] = {}
        self._boxes_listed_at = float("-inf")
        self.gaps_skipped = 0

    def observe(self, messages: Iterable[StoredMessage]) -> None:
        """Note messages that are durably stored (inserted now, or stored before)."""
        now = self._clock()
        for m in messages:
            key = (m.school, m.device_id)
            dev = self._devices.get(key)
            if dev is None:
                # A device first seen: its history starts here (a box numbers each new device
                # from its wall clock, so nothing before this seq is the gateway's to wait for).
                self._devices[key] = _Device(m.seq, changed=True)
                continue
            if m.seq <= dev.seq:
                continue
            if m.seq == dev.seq + 1:
                dev.seq += 1
                dev.changed = True
                while dev.seq + 1 in dev.above:
                    dev.above.discard(dev.seq + 1)
                    dev.seq += 1
                if not dev.above:
                    dev.gap_since = None
            else:
                dev.above.add(m.seq)
                if dev.gap_since is None:
                    dev.gap_since = now
                self._gapped.add(key)
        # Only devices with a gap open: this runs for every batch and every idle turn.
        for key in list(self._gapped):
            dev = self._devices[key]
            if not dev.above:
                self._gapped.discard(key)
                continue
            if dev.gap_since is not None and (
                now - dev.gap_since > self.gap_skip_s or len(dev.above) > MAX_ABOVE
            ):
                self._skip_gap(key, dev, now)

    def _skip_gap(self, key: tuple[str, str], dev: _Device, now: float) -> None:
        first = min(dev.above)
        log.warning(
            "device %s of school %s: seq %d to %d never arrived in %.0f s while later ones "
            "did; taken as lost for good, so the box may free its buffer",
            key[1],
            key[0],
            dev.seq + 1,
            first - 1,
            now - (dev.gap_since or now),
        )
        self.gaps_skipped += 1
        dev.seq = first
        dev.above.discard(first)
        while dev.seq + 1 in dev.above:
            dev.above.discard(dev.seq + 1)
            dev.seq += 1
        dev.gap_since = now if dev.above else None
        dev.changed = True

    def due(
        self,
        boxes: Callable[[Iterable[tuple[str, str]]], dict[tuple[str, str], str]],
        known_boxes: Callable[[], list[tuple[str, str]]],
        *,
        force: bool = False,
    ) -> list[tuple[str, bytes]]:
        """The retained messages to publish now, (topic, payload), at most once a period.

        *boxes* maps (school, device id) pairs to the edge box each is reached through (from
        the devices' statuses, in one query for all schools); a device whose box is not known
        yet waits for its next turn.
        *known_boxes* lists every box heard from: each hears at least a heartbeat, even before
        any of its messages is stored, so that a box whose every message a broker lost knows
        the gateway is there and sends them again.
        """
        now = self._clock()
        if not force and now - self._last_publish < self.publish_every_s:
            return []
        changed = {k: d for k, d in self._devices.items() if d.changed}
        # Boxes told nothing new for a while hear the same again: a box resends only while
        # watermarks keep coming (the gateway is alive), see edge.stored_marks.
        if now - self._boxes_listed_at >= self.heartbeat_s:
            self._boxes_listed_at = now
            for box in known_boxes():
                self._box_published.setdefault(box, 0.0)
        quiet = {box for box, at in self._box_published.items() if now - at >= self.heartbeat_s}
        if not changed and not quiet:
            return []
        self._last_publish = now
        box_of = boxes(changed) if changed else {}
        if changed:  # (nothing when only heartbeats are due)
            with self.db.transaction() as conn:
                conn.execute(
                    upsert_rows(
                        conn,
                        stored_watermarks,
                        ["school", "device_id", "seq"],
                        ["school", "device_id"],
                    ),
                    [
                        {"school": school, "device_id": device, "seq": dev.seq}
                        for (school, device), dev in changed.items()
                    ],
                )
        touched: set[tuple[str, str]] = set(quiet)
        for (school, device), dev in changed.items():
            dev.changed = False
            edge_id = box_of.get((school, device))
            if edge_id is None:
                continue  # reached directly, or its box not known yet: published when known
            self._box_marks.setdefault((school, edge_id), {})[device] = dev.seq
            touched.add((school, edge_id))
        out = []
        for school, edge_id in sorted(touched):
            # The message is retained, so it carries every device of the box seen since start,
            # not only those that changed.
            mark = StoredWatermark(
                edge_id=edge_id,
                ts=datetime.now(UTC),
                devices=self._box_marks.get((school, edge_id), {}),
            )
            out.append((stored_topic(school, edge_id), mark.model_dump_json().encode()))
            self._box_published[(school, edge_id)] = now
        return out

    def seq(self, school: str, device_id: str) -> int | None:
        dev = self._devices.get((school, device_id))
        return None if dev is None else dev.seq
