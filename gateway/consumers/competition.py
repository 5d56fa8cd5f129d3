"""The competition consumer: finished rope sets of a competition become ranked or held results.

Reads the commit log from a cursor of its own, like every consumer (`runner`): a result's row
and the cursor past it commit together, and rows are unique on (competition, school, device,
seq), so nothing is lost or counted twice across a restart. Ropes' running counts are kept too
(their newest device time per rope), for the no-live-progress rule.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, Counter

from campusedge.topics import DeviceKind
from campusedge.units import Metric
from gateway.binding import Binder
from gateway.competition.anti_cheat import Facts, Participant, RopeSet, holds, place
from gateway.competition.config import CompetitionConfig
from gateway.competition.results import Competitions
from gateway.roster import Roster
from gateway.store.base import StoredMessage
from gateway.store.commit_log import Committed

log = logging.getLogger(__name__)

# Definitions are read again this often, so that one another worker adds is seen.
RELOAD_S = 10.0


def _reading(message: StoredMessage, metric: str) -> float | None:
    return next((v for name, v, _unit in message.readings if name == metric), None)


def _int(value: object, default: int = 0) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def rope_set(message: StoredMessage) -> RopeSet | None:
    """A countdown-time `rope_result` as a set (None: another mode, or no count)."""
    attrs = dict(message.attributes)
    count = _reading(message, Metric.ROPE_COUNT.value)
    if attrs.get("mode") != "countdown_time" or count is None:
        return None
    set_value = _int(attrs.get("set_value"))
    elapsed = _reading(message, Metric.ROPE_ELAPSED.value)
    # The rope's own start time is its clock's; the elapsed time against the message's device
    # time (the edge box's estimate) keeps both ends on one clock.
    length = elapsed if elapsed is not None else float(set_value)
    return RopeSet(
        school=message.school,
        device_id=message.device_id,
        seq=message.seq,
        set_value_s=set_value,
        count=int(count),
        trips=_int(attrs.get("trips")),
        started_at=message.ts - timedelta(seconds=length),
        finished_at=message.ts,
    )


class CompetitionConsumer:
    """Places each finished rope set of a participating school in its competition."""

    name = "competitions"
    # A finished set's effects are undone alone in a savepoint `handle` opens; running counts
    # only gather in memory (`finish` writes them), and a savepoint each would cost two round
    # trips to the server per count in the step that the next result waits for.
    savepoints = False

    def __init__(
        self, competitions: Competitions, roster: Roster, registry: CollectorRegistry
    ) -> None:
        self.competitions = competitions
        self.sets = Counter(
            "campusedge_competition_sets",
            "Competition sets stored, by status when stored (ranked, held)",
            ["status"],
            registry=registry,
        )
        self.holds = Counter(
            "campusedge_competition_holds",
            "Reasons competition sets were held for review (a set may have several)",
            ["reason"],
            registry=registry,
        )
        self.roster = roster
        self.binder = Binder(roster)
        self._progress: dict[tuple[str, str], datetime] = {}
        self._changed: set[str] = set()
        self._loaded_at = 0.0
        self._generation = -1
        self._schools: frozenset[str] = frozenset()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        # Held around the step's transaction: the other workers' boards are told in it
        # (`finish`: the notice goes out with the commit), this process's once it has
        # committed (a step that fails tells nobody; it is tried again).
        self._changed, self._progress = set(), {}
        yield
        changed, self._changed = self._changed, set()
        for competition_id in sorted(changed):
            self.competitions.changed_elsewhere(competition_id)

    def _taking_part(self) -> frozenset[str]:
        """The schools of every competition (read again when one is defined, or now and then)."""
        stale = time.monotonic() - self._loaded_at > RELOAD_S
        if stale or self._generation != self.competitions.generation:
            if stale:
                self.competitions.forget_cache()
            self._loaded_at = time.monotonic()
            self._generation = self.competitions.generation
            self._schools = frozenset(s for c in self.competitions.all() for s in c.schools)
        return self._schools

    def wants(self, entry: Committed) -> bool:
        m = entry.message
        return (
            m is not None
            and m.kind is DeviceKind.JUMP_ROPE
            and (m.event_type in (None, "rope_result"))
            and m.school in self._taking_part()
        )

    def handle(self, entry: Committed) -> None:
        m = entry.message
        if m is None:
            return
        if m.event_type is None:
            if _reading(m, Metric.ROPE_COUNT.value) is not None:
                key = (m.school, m.device_id)
                if key not in self._progress or self._progress[key] < m.ts:
                    self._progress[key] = m.ts
            return
        found = rope_set(m)
        if found is not None:
            # One savepoint for the set: a failing one leaves nothing of its effects behind.
            with self.competitions.db.transaction():
                for config in self.competitions.all():
                    self._place(config, m, found)

    def _place(self, config: CompetitionConfig, m: StoredMessage, found: RopeSet) -> None:
        placement = place(config, found)
        if placement is None:
            return
        student_id = m.student_id
        participant = self._participant(student_id) if student_id else None
        start = self.binder.bind(found.school, found.device_id, found.started_at)
        progress = self._progress.get((found.school, found.device_id))
        if progress is None:
            progress = self.competitions.last_progress(found.school, found.device_id)
        facts = Facts(
            bound_at_finish=student_id,
            bound_at_start=start.student_id if start is not None else None,
            participant=participant,
            last_progress_at=progress,
        )
        reasons = holds(config, placement, found, facts)
        if self.competitions.record(config, placement, found, participant, student_id, reasons):
            self._changed.add(config.id)
            # Counted as stored; a step rolled back and read again counts its sets again.
            self.sets.labels(status="held" if reasons else "ranked").inc()
            for reason in reasons:
                self.holds.labels(reason=reason.value).inc()
            if reasons:
                log.warning(
                    "competition %s: set %s/%s held for review (%s)",
                    config.id,
                    found.device_id,
                    found.seq,
                    ", ".join(reasons),
                )

    def _participant(self, student_id: str) -> Participant | None:
        found = self.roster.student_at_school(student_id)
        if found is None:
            return None
        student, school = found
        return Participant(student.id, school, student.class_id, student.grade, student.sex)

    def finish(self) -> None:
        progress, self._progress = self._progress, {}
        self.competitions.note_progress(progress)
        for competition_id in sorted(self._changed):
            self.competitions.tell_others(competition_id)
