"""Rankings of ranked results (pure): individuals by event, grade and sex; classes and schools.

Tie-breaks, so that the same results always give the same order (docs/competition.md):

- individuals: more jumps, then fewer trips (stumbles), then the earlier finish, then the
  school, the rope's id and its set's sequence number (stable, arbitrary, never a name);
- teams: the higher team score, then more participants, then the better best count, then
  the team's id.

Each student counts once per event: with their best set (by the individual order above).
Ranks are positions 1, 2, 3, ... in that order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from gateway.competition.config import TeamScore


@dataclass(frozen=True)
class Entry:
    """One ranked (or approved) set of a known student."""

    result_id: int
    event: str
    student_id: str
    school: str
    class_id: str
    grade: str
    sex: str
    count: int
    trips: int
    finished_at: datetime
    device_id: str
    seq: int


@dataclass(frozen=True)
class Placed:
    rank: int
    entry: Entry


@dataclass(frozen=True)
class TeamPlaced:
    rank: int
    team: str  # the class id or the school
    school: str
    score: float
    participants: int
    best: int


def order_key(e: Entry) -> tuple[int, int, datetime, str, str, int]:
    return (-e.count, e.trips, e.finished_at, e.school, e.device_id, e.seq)


def best_per_student(entries: Iterable[Entry]) -> list[Entry]:
    """Each student's best entry in each event."""
    best: dict[tuple[str, str], Entry] = {}
    for e in entries:
        key = (e.event, e.student_id)
        if key not in best or order_key(e) < order_key(best[key]):
            best[key] = e
    return list(best.values())


def rank_individuals(
    entries: Iterable[Entry], event: str, grade: str | None = None, sex: str | None = None
) -> list[Placed]:
    """The event's individual ranking, optionally of one grade and one sex."""
    chosen = [
        e
        for e in best_per_student(entries)
        if e.event == event
        and (grade is None or e.grade == grade)
        and (sex is None or e.sex == sex)
    ]
    return [Placed(i, e) for i, e in enumerate(sorted(chosen, key=order_key), start=1)]


def team_score(counts: Sequence[int], team: TeamScore) -> float:
    """The mean of the best *n* counts (missing ones as 0), or of all of them."""
    if team.mode == "all":
        return sum(counts) / len(counts) if counts else 0.0
    best = sorted(counts, reverse=True)[: team.n]
    return sum(best) / team.n


def rank_teams(
    entries: Iterable[Entry], event: str, by: Literal["class", "school"], team: TeamScore
) -> list[TeamPlaced]:
    """Classes or schools in *event* by team score, over each student's best set."""
    counts: dict[str, list[int]] = {}
    school_of: dict[str, str] = {}
    for e in best_per_student(entries):
        if e.event != event:
            continue
        key = e.class_id if by == "class" else e.school
        counts.setdefault(key, []).append(e.count)
        school_of[key] = e.school
    rows = [(team_score(c, team), len(c), max(c), key, school_of[key]) for key, c in counts.items()]
    rows.sort(key=lambda r: (-r[0], -r[1], -r[2], r[3]))
    return [
        TeamPlaced(i, key, school, score, n, best)
        for i, (score, n, best, key, school) in enumerate(rows, start=1)
    ]
