"""A school's warning level today and its classes', from fevers and illness absences.

The thresholds are the district health authority's (`warning_levels.yaml`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

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


class WarningLevelsPublic(BaseModel):
    school: str
    day: date
    owner: str
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

    def scope(s: Any) -> ScopeLevelPublic:
        return ScopeLevelPublic(
            scope=s.scope,
            fevers=s.fevers,
            illness_absences=s.illness_absences,
            cases=s.cases,
            level=s.level.value,
            window_cases=s.window_cases,
            window_days=s.window_days,
        )

    return WarningLevelsPublic(
        school=school,
        day=day,
        owner=alerts.configs.warning_levels.owner,
        school_level=scope(levels.school_level),
        classes=[scope(c) for c in levels.classes],
    )
