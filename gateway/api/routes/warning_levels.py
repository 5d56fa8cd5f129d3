"""A school's warning level today and its classes', from fevers and illness absences.

The thresholds are the district health authority's (`warning_levels.yaml`).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel

from gateway.alerts.config import LevelThresholds
from gateway.alerts.rules.warning_level import Level, level_for
from gateway.alerts.service import AlertService
from gateway.api.deps import Alerts, HealthStaff, RosterDep, check_school
from gateway.api.refusals import Refusal
from gateway.i18n import N_

router = APIRouter(prefix="/api/alerts", tags=["warning levels"])


class ScopeLevelPublic(BaseModel):
    scope: str
    fevers: int
    illness_absences: int
    cases: int
    level: str
    # Distinct students with a case over the district's window of days ending on `day`
    # (null when its thresholds have no window).
    window_cases: int | None = None
    window_days: int | None = None
    # Fever screens no recheck has confirmed or cleared: among the cases only if the district
    # counts them (`count_unconfirmed_screens`), shown beside them either way.
    unconfirmed_screens: int = 0
    # The rule that set a level above green: the day's cases reaching `threshold`, or the
    # window's cases (over `window_days`) reaching it. Null when green.
    set_by: Literal["day", "window"] | None = None
    threshold: int | None = None


class WarningLevelsPublic(BaseModel):
    school: str
    day: date
    owner: str
    count_unconfirmed_screens: bool = False
    school_level: ScopeLevelPublic
    classes: list[ScopeLevelPublic]


@router.get("/warning-levels", response_model=WarningLevelsPublic)
def warning_levels(
    alerts: Alerts, roster: RosterDep, user: HealthStaff, school: str, day: date | None = None
) -> WarningLevelsPublic:
    check_school(user, school)  # another school's level is not the user's to read
    # Every school has a level, green when nothing happened: a misspelt or foreign school
    # would read as all clear. Only a school the gateway knows is answered.
    if not (roster.has_school(school) or alerts.configs.configured(school)):
        raise Refusal(
            404,
            N_(
                "unknown school {school!r}: "
                "no class of the roster and no alert config belongs to it"
            ),
            school=school,
        )
    return levels_public(alerts, school, alerts.today(school) if day is None else day)


def levels_public(alerts: AlertService, school: str, day: date) -> WarningLevelsPublic:
    levels = alerts.levels(school, day)
    cfg = alerts.configs.warning_levels_for(school)

    def scope(s: Any, thresholds: LevelThresholds) -> ScopeLevelPublic:
        set_by, threshold = rule_of(s.level, s.cases, thresholds)
        return ScopeLevelPublic(
            scope=s.scope,
            fevers=s.fevers,
            illness_absences=s.illness_absences,
            cases=s.cases,
            level=s.level.value,
            window_cases=s.window_cases,
            window_days=s.window_days,
            unconfirmed_screens=s.unconfirmed_screens,
            set_by=set_by,
            threshold=threshold,
        )

    return WarningLevelsPublic(
        school=school,
        day=day,
        owner=cfg.owner,
        count_unconfirmed_screens=cfg.count_unconfirmed_screens,
        school_level=scope(levels.school_level, cfg.per_school),
        classes=[scope(c, cfg.per_class) for c in levels.classes],
    )


def rule_of(
    level: Level, cases: int, t: LevelThresholds
) -> tuple[Literal["day", "window"] | None, int | None]:
    """Which threshold set *level*: the day's count if it alone reaches the level, else the
    multi-day window (which only ever raises a level)."""
    if level is Level.GREEN:
        return None, None
    if level_for(cases, t) is level:
        return "day", int(getattr(t, level.value))
    assert t.window is not None  # only a window raises a level above the day's count
    return "window", t.window.cases
