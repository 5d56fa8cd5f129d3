"""The public projection of a competition's rankings: no student ids, no names unless allowed.

A row names the school, the class and the student's initials (王小明 -> W.X.M.); the full
name only where the competition's `show_full_names` is true. Students are minors: what a
public board shows must not single one out to a stranger beyond their class.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache

from pydantic import BaseModel

from gateway.competition.config import CompetitionConfig
from gateway.competition.ranking import Entry, rank_individuals, rank_teams

SEX_ORDER = ("F", "M")


@cache
def initials(name: str) -> str:
    """王小明 -> "W.X.M.", Anna Li -> "A.L.": the first letter of each syllable or word."""
    words = name.split()
    if len(words) > 1 or name.isascii():
        letters = [w[0].upper() for w in words if w]
    else:
        # Imported here, as in gateway/names.py: pypinyin's dictionary is large.
        from pypinyin import Style, lazy_pinyin

        letters = [p[:1].upper() for p in lazy_pinyin(name, style=Style.FIRST_LETTER) if p]
    return "".join(f"{c}." for c in letters if c.strip())


class IndividualRow(BaseModel):
    rank: int
    school: str
    class_name: str
    grade: str
    sex: str
    name: str  # initials unless the competition allows full names
    count: int
    finished_at: datetime


class IndividualGroup(BaseModel):
    grade: str
    sex: str
    ranking: list[IndividualRow]


class TeamRow(BaseModel):
    rank: int
    school: str
    class_name: str | None  # None in the schools' ranking
    score: float
    participants: int
    best: int


class EventBoard(BaseModel):
    event: str
    name: str
    duration_s: int
    individuals: list[IndividualGroup]
    classes: list[TeamRow]
    schools: list[TeamRow]


class Leaderboard(BaseModel):
    competition: str
    name: str
    full_names: bool
    events: list[EventBoard]


# student id -> name, class id -> class name (both from the roster)
Names = Callable[[str], str | None]


def leaderboard(
    config: CompetitionConfig, entries: list[Entry], student_name: Names, class_name: Names
) -> Leaderboard:
    """Every event's rankings: individuals per grade and sex, then classes, then schools."""

    def shown(e: Entry) -> str:
        name = student_name(e.student_id) or ""
        return name if config.show_full_names else initials(name)

    boards = []
    for key, spec in config.events.items():
        groups = []
        for grade in config.grades:
            for sex in SEX_ORDER:
                placed = rank_individuals(entries, key, grade, sex)
                if placed:
                    rows = [
                        IndividualRow(
                            rank=p.rank,
                            school=p.entry.school,
                            class_name=class_name(p.entry.class_id) or "",
                            grade=p.entry.grade,
                            sex=p.entry.sex,
                            name=shown(p.entry),
                            count=p.entry.count,
                            finished_at=p.entry.finished_at,
                        )
                        for p in placed
                    ]
                    groups.append(IndividualGroup(grade=grade, sex=sex, ranking=rows))
        classes = [
            TeamRow(
                rank=t.rank,
                school=t.school,
                class_name=class_name(t.team) or "",
                score=round(t.score, 2),
                participants=t.participants,
                best=t.best,
            )
            for t in rank_teams(entries, key, "class", config.team)
        ]
        schools = [
            TeamRow(
                rank=t.rank,
                school=t.school,
                class_name=None,
                score=round(t.score, 2),
                participants=t.participants,
                best=t.best,
            )
            for t in rank_teams(entries, key, "school", config.team)
        ]
        boards.append(
            EventBoard(
                event=key,
                name=spec.name,
                duration_s=spec.duration_s,
                individuals=groups,
                classes=classes,
                schools=schools,
            )
        )
    return Leaderboard(
        competition=config.id, name=config.name, full_names=config.show_full_names, events=boards
    )
