"""Which competition, event and round a finished rope set belongs to, and why it is held (pure).

A set is held for a PE teacher's review, not ranked, for each of these reasons (several can
apply; all are kept):

- `over_ceiling`: more jumps than the event's configured physical ceiling;
- `outside_window`: the set did not start and finish inside a round of its event;
- `unbound`: no lesson bound the rope to a student when the set finished;
- `rebound_during_set`: the rope was bound to another student (or to none) when it started;
- `unknown_student`: the binding names a student the roster no longer has;
- `not_entered`: the student's school or grade does not take part;
- `no_live_progress`: the rope sent no running count while the set ran (a result typed into a
  rope, or replayed, has none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from gateway.competition.config import CompetitionConfig, Round

# A progress frame's device time is estimated by the edge box from the base station's uptime:
# this much either side of the set still counts as during it.
PROGRESS_SLACK: Final = timedelta(seconds=5)


class Hold(StrEnum):
    OVER_CEILING = "over_ceiling"
    OUTSIDE_WINDOW = "outside_window"
    UNBOUND = "unbound"
    REBOUND_DURING_SET = "rebound_during_set"
    UNKNOWN_STUDENT = "unknown_student"
    NOT_ENTERED = "not_entered"
    NO_LIVE_PROGRESS = "no_live_progress"


@dataclass(frozen=True)
class RopeSet:
    """A finished countdown set as the rope reported it."""

    school: str
    device_id: str
    seq: int
    set_value_s: int
    count: int
    trips: int
    started_at: datetime
    finished_at: datetime


@dataclass(frozen=True)
class Participant:
    """The student a set is bound to, as the roster knows them."""

    student_id: str
    school: str
    class_id: str
    grade: str
    sex: str


@dataclass(frozen=True)
class Facts:
    """What the gateway knows around a set: who the rope was bound to at its finish and at its
    start, whether the roster knows that student, and the rope's newest progress time."""

    bound_at_finish: str | None
    bound_at_start: str | None
    participant: Participant | None
    last_progress_at: datetime | None


@dataclass(frozen=True)
class Placement:
    """The event a set is of, and the round whose window holds it (None: outside every one)."""

    event: str
    round: Round | None


def place(config: CompetitionConfig, rope_set: RopeSet) -> Placement | None:
    """Where *rope_set* belongs in *config*; None when it is not a set of this competition
    (another school, a length no event has, a time outside the competition's days)."""
    if rope_set.school not in config.schools:
        return None
    first_day = config.opens_at.date()
    last_day = config.closes_at.date()
    if not first_day <= rope_set.finished_at.astimezone(config.opens_at.tzinfo).date() <= last_day:
        return None
    events = [k for k, e in config.events.items() if e.duration_s == rope_set.set_value_s]
    if not events:
        return None
    for r in config.rounds:
        inside = r.opens_at <= rope_set.started_at and rope_set.finished_at <= r.closes_at
        if r.event in events and inside:
            return Placement(r.event, r)

    # Outside every window: held under the event of the nearest round of its length (one it
    # overlaps, as a set that ran past the closing time does, is nearest).
    def distance(r: Round) -> float:
        gap = max(r.opens_at - rope_set.finished_at, rope_set.started_at - r.closes_at)
        return max(0.0, gap.total_seconds())

    nearest = min((r for r in config.rounds if r.event in events), key=distance)
    return Placement(nearest.event, None)


def holds(
    config: CompetitionConfig, placement: Placement, rope_set: RopeSet, facts: Facts
) -> list[Hold]:
    """Every reason to hold *rope_set* for review, in a fixed order; [] when it is ranked."""
    reasons: list[Hold] = []
    if rope_set.count > config.events[placement.event].ceiling:
        reasons.append(Hold.OVER_CEILING)
    if placement.round is None:
        reasons.append(Hold.OUTSIDE_WINDOW)
    if facts.bound_at_finish is None:
        reasons.append(Hold.UNBOUND)
    elif facts.bound_at_start != facts.bound_at_finish:
        reasons.append(Hold.REBOUND_DURING_SET)
    if facts.bound_at_finish is not None:
        p = facts.participant
        if p is None:
            reasons.append(Hold.UNKNOWN_STUDENT)
        elif p.school != rope_set.school or p.grade not in config.grades:
            reasons.append(Hold.NOT_ENTERED)
    progress = facts.last_progress_at
    if progress is None or not (
        rope_set.started_at - PROGRESS_SLACK <= progress <= rope_set.finished_at + PROGRESS_SLACK
    ):
        reasons.append(Hold.NO_LIVE_PROGRESS)
    return reasons
