"""School warning level: daily cases per class and per school → green/yellow/orange/red."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select

from gateway.alerts.config import LevelThresholds, WarningLevelConfig
from gateway.alerts.model import Candidate, Rule, Severity
from gateway.health.absences import IllnessAbsences
from gateway.state import StateDB
from gateway.tables.alerts import alerts

SCHOOL_SCOPE = "school"


class Level(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"

    @property
    def rank(self) -> int:
        return list(Level).index(self)


def level_for(cases: int, t: LevelThresholds, window_cases: int | None = None) -> Level:
    """The day's level; a multi-day window, when configured and reached, can raise it."""
    if cases >= t.red:
        level = Level.RED
    elif cases >= t.orange:
        level = Level.ORANGE
    elif cases >= t.yellow:
        level = Level.YELLOW
    else:
        level = Level.GREEN
    if t.window is not None and window_cases is not None and window_cases >= t.window.cases:
        by_window = Level(t.window.level)
        if by_window.rank > level.rank:
            return by_window
    return level


@dataclass(frozen=True)
class ScopeLevel:
    scope: str  # "school" or a class id
    fevers: int
    illness_absences: int
    cases: int
    level: Level
    # Distinct students with a case over the configured window of days ending on this day
    # (None when the thresholds have no window).
    window_cases: int | None = None
    window_days: int | None = None
    # Students with a fever screen no recheck has confirmed or cleared yet: shown beside the
    # cases, and among them only if the district counts unconfirmed screens.
    unconfirmed_screens: int = 0


@dataclass(frozen=True)
class SchoolLevels:
    school: str
    day: date
    school_level: ScopeLevel
    classes: list[ScopeLevel] = field(default_factory=list)


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    return start, start + timedelta(days=1)


# Built once: the rule runs on every fever.
_FEVER_CASES = select(alerts.c.student_id, alerts.c.class_id, alerts.c.detail).where(
    alerts.c.school == bindparam("school"),
    alerts.c.rule == bindparam("rule"),
    alerts.c.student_id.is_not(None),
    alerts.c.opened_at >= bindparam("start"),
    alerts.c.opened_at < bindparam("end"),
    func.coalesce(alerts.c.outcome, "") != "cleared",
)


class WarningLevels:
    """Counts cases from fever alerts and the health records' absences, and remembers the
    level reached."""

    def __init__(self, db: StateDB, absences: IllnessAbsences) -> None:
        self.db = db
        self.absences = absences

    def _cases(
        self, school: str, first: date, last: date, zone: ZoneInfo, count_unconfirmed: bool
    ) -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, set[str]]]:
        """Per class: students with a fever that counts (confirmed by a recheck, and with
        *count_unconfirmed* a screen not rechecked yet too), students with an unconfirmed
        screen, and students absent for illness. A cleared fever is none of them."""
        start, _ = day_bounds(first, zone)
        _, end = day_bounds(last, zone)
        fevers = self.db.query(
            _FEVER_CASES,
            {
                "school": school,
                "rule": Rule.FEVER.value,
                "start": start.isoformat(),
                "end": end.isoformat(),
            },
        )
        confirmed_by: dict[str, set[str]] = {}
        pending_by: dict[str, set[str]] = {}
        for r in fevers:
            rechecked = "recheck_c" in json.loads(r["detail"] or "{}")
            into = confirmed_by if rechecked else pending_by
            into.setdefault(r["class_id"] or "?", set()).add(r["student_id"])
        # A student with a confirmed fever that day awaits no recheck.
        pending_by = {
            c: left for c, ids in pending_by.items() if (left := ids - confirmed_by.get(c, set()))
        }
        fever_by = {c: set(ids) for c, ids in confirmed_by.items()}
        if count_unconfirmed:
            for c, ids in pending_by.items():
                fever_by.setdefault(c, set()).update(ids)
        absent_by: dict[str, set[str]] = {}
        for a in self.absences.absent_for_illness(school, first, last):
            absent_by.setdefault(a.class_id, set()).add(a.student_id)
        return fever_by, pending_by, absent_by

    def compute(
        self, school: str, day: date, zone: ZoneInfo, cfg: WarningLevelConfig
    ) -> SchoolLevels:
        # A fever counts once confirmed by a recheck (or, if the district so decides, from the
        # screen on, unless a recheck cleared it); one student counts once a day.
        unconfirmed = cfg.count_unconfirmed_screens
        fever_by, screens_by, absent_by = self._cases(school, day, day, zone, unconfirmed)

        def over_window(t: LevelThresholds) -> dict[str, set[str]] | None:
            """Per class, the students with a case over t's window (None: no window).

            Each scope over its own days; one student counts once however many days ill."""
            if t.window is None:
                return None
            w_fever, _, w_absent = self._cases(
                school, day - timedelta(days=t.window.days - 1), day, zone, unconfirmed
            )
            return {
                class_id: w_fever.get(class_id, set()) | w_absent.get(class_id, set())
                for class_id in set(w_fever) | set(w_absent)
            }

        def span(t: LevelThresholds) -> int | None:
            return t.window.days if t.window is not None else None

        class_window = over_window(cfg.per_class)
        classes = []
        scopes = set(fever_by) | set(absent_by) | set(class_window or {}) | set(screens_by)
        for class_id in sorted(scopes):
            f, a = fever_by.get(class_id, set()), absent_by.get(class_id, set())
            cases = len(f | a)
            window = len(class_window.get(class_id, set())) if class_window is not None else None
            if cases == 0 and not window and not screens_by.get(class_id):
                continue
            classes.append(
                ScopeLevel(
                    class_id,
                    len(f),
                    len(a),
                    cases,
                    level_for(cases, cfg.per_class, window),
                    window,
                    span(cfg.per_class),
                    len(screens_by.get(class_id, set())),
                )
            )
        all_f = set().union(*fever_by.values()) if fever_by else set()
        all_a = set().union(*absent_by.values()) if absent_by else set()
        total = len(all_f | all_a)
        school_by = over_window(cfg.per_school)
        school_window = (
            (len(set().union(*school_by.values())) if school_by else 0)
            if school_by is not None
            else None
        )
        school_level = ScopeLevel(
            SCHOOL_SCOPE,
            len(all_f),
            len(all_a),
            total,
            level_for(total, cfg.per_school, school_window),
            school_window,
            span(cfg.per_school),
            len(set().union(*screens_by.values())) if screens_by else 0,
        )
        return SchoolLevels(school, day, school_level, classes)

    @staticmethod
    def key(school: str, scope: str) -> str:
        """One alert per class or school, across days: it follows the level up and down."""
        return f"{Rule.WARNING_LEVEL.value}:{school}:{scope}"

    def candidate(self, levels: SchoolLevels, scope: ScopeLevel, now: datetime) -> Candidate:
        """What the alert of *scope* says at its level now (not green)."""
        day = levels.day.isoformat()
        where = "the school" if scope.scope == SCHOOL_SCOPE else f"class {scope.scope}"
        return Candidate(
            rule=Rule.WARNING_LEVEL,
            key=self.key(levels.school, scope.scope),
            school=levels.school,
            severity=Severity.WARNING if scope.level is Level.YELLOW else Severity.CRITICAL,
            at=now,
            class_id=None if scope.scope == SCHOOL_SCOPE else scope.scope,
            summary=f"warning level {scope.level.value} for {where} on {day}: "
            f"{scope.cases} case(s) ({scope.fevers} fever, "
            f"{scope.illness_absences} absent for illness)"
            + (
                f"; {scope.unconfirmed_screens} fever screen(s) not rechecked yet"
                if scope.unconfirmed_screens
                else ""
            )
            + (
                f"; {scope.window_cases} over the last {scope.window_days} days"
                if scope.window_cases and scope.window_days
                else ""
            ),
            detail={
                "level": scope.level.value,
                "scope": scope.scope,
                "day": day,
                "cases": scope.cases,
                "fevers": scope.fevers,
                "illness_absences": scope.illness_absences,
                "window_cases": scope.window_cases,
                "unconfirmed_screens": scope.unconfirmed_screens,
            },
        )
