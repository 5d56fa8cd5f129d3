"""A competition as data: rounds, events, schools, grades, team score and privacy (pydantic).

A district writes one YAML or JSON file per competition (docs/competition.md); it is checked
whole before it is stored, and an error names the field it is about
(`rounds[1].closes_at: ...`), so the file can be fixed where it is wrong.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from gateway.i18n import N_, Worded

Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class EventSpec(BaseModel):
    """One event: a countdown set of *duration_s* seconds, and the most jumps a person can make
    in it (a count above the ceiling is held for review, never ranked)."""

    model_config = ConfigDict(extra="forbid")
    name: Text
    duration_s: int = Field(gt=0, le=600)
    ceiling: int = Field(gt=0, le=10_000)


class Round(BaseModel):
    """A time window in which one event's sets count: a set must start and finish inside it."""

    model_config = ConfigDict(extra="forbid")
    id: Key
    event: Key
    opens_at: AwareDatetime
    closes_at: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> Round:
        if self.closes_at <= self.opens_at:
            raise ValueError("closes_at must be after opens_at")
        return self


class TeamScore(BaseModel):
    """A class's or school's score: the mean of its best *n* participants (a team short of *n*
    counts the missing as 0, so that a small team is not carried by one star), or of all."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["best_n", "all"] = "best_n"
    n: int = Field(default=10, gt=0, le=1000)


class CompetitionConfig(BaseModel):
    """A whole competition, as the district defines it."""

    model_config = ConfigDict(extra="forbid")
    id: Key
    name: Text
    schools: list[Key] = Field(min_length=1)
    grades: list[Annotated[str, StringConstraints(min_length=1, max_length=20)]] = Field(
        min_length=1
    )
    events: dict[Key, EventSpec] = Field(min_length=1)
    rounds: list[Round] = Field(min_length=1)
    team: TeamScore = TeamScore()
    # Public boards show school, class and initials unless the district allows full names.
    show_full_names: bool = False
    # The board (JSON, stream, page) may be read without signing in: a screen in a gym.
    # Default: only staff of a school taking part, signed in.
    public_board: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> CompetitionConfig:
        for name, values in (("schools", self.schools), ("grades", self.grades)):
            if len(set(values)) != len(values):
                raise ValueError(f"{name}: a value is listed twice")
        seen: set[str] = set()
        for i, r in enumerate(self.rounds):
            if r.event not in self.events:
                raise ValueError(
                    f"rounds[{i}].event: {r.event!r} is not one of the events "
                    f"({', '.join(sorted(self.events))})"
                )
            if r.id in seen:
                raise ValueError(f"rounds[{i}].id: {r.id!r} is used by another round")
            seen.add(r.id)
        # A rope reports its set's length, not the event: two events of one length must not
        # run at the same time, or a set could not be told apart.
        for i, a in enumerate(self.rounds):
            for j in range(i + 1, len(self.rounds)):
                b = self.rounds[j]
                same_length = self.events[a.event].duration_s == self.events[b.event].duration_s
                overlap = a.opens_at < b.closes_at and b.opens_at < a.closes_at
                if same_length and overlap:
                    raise ValueError(
                        f"rounds[{j}]: overlaps round {a.id!r}, and both are "
                        f"{self.events[a.event].duration_s} s sets"
                    )
        return self

    @property
    def opens_at(self) -> datetime:
        return min(r.opens_at for r in self.rounds)

    @property
    def closes_at(self) -> datetime:
        return max(r.closes_at for r in self.rounds)


class CompetitionConfigError(Worded, ValueError):
    """A competition file that does not validate; names the field and what is wrong."""


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate(data: Any, source: str = "competition") -> CompetitionConfig:
    """*data* (parsed JSON or YAML) as a competition, or CompetitionConfigError."""
    try:
        return CompetitionConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = _where(tuple(err["loc"]))
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise CompetitionConfigError(
            N_("competition {source} is not valid: {problems}"),
            source=source,
            problems="; ".join(problems),
        ) from None


class _NoAliases(yaml.SafeLoader):
    """YAML without anchors and aliases: a competition needs none, and aliases of aliases
    make a small file unfold into a huge document."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("aliases (*name) are not allowed")
        return super().compose_node(parent, index)


def load(text: str, source: str) -> CompetitionConfig:
    """A competition file's text (YAML, or JSON, which YAML reads too) as a competition."""
    try:
        data = json.loads(text) if source.endswith(".json") else yaml.load(text, _NoAliases)
    except (ValueError, yaml.YAMLError) as exc:
        raise CompetitionConfigError(
            N_("competition {source} is not valid: {problems}"),
            source=source,
            problems=f"cannot be read: {exc}",
        ) from None
    return validate(data, source)
