"""A district's warning-level view: each school's level today with the counts behind it (small
counts hidden), and the district's own level, the highest of its schools'."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from gateway.alerts.rules.warning_level import Level, SchoolLevels
from gateway.district.small_cells import hidden, suppress


@dataclass(frozen=True)
class SchoolLevelCell:
    school: str
    day: date
    level: Level
    # Distinct students with a case; the two kinds of case; screens awaiting a recheck; the
    # window's cases. None where fewer than the minimum (a level is shown regardless: it is
    # what the district acts on, and says only that a threshold was reached).
    cases: int | None
    fevers: int | None
    illness_absences: int | None
    unconfirmed_screens: int | None
    window_cases: int | None
    window_days: int | None


def school_cell(levels: SchoolLevels, minimum: int) -> SchoolLevelCell:
    s = levels.school_level
    kinds = suppress({"fevers": s.fevers, "illness_absences": s.illness_absences}, minimum)

    def shown(count: int | None) -> int | None:
        return None if count is None or hidden(count, minimum) else count

    return SchoolLevelCell(
        school=levels.school,
        day=levels.day,
        level=s.level,
        cases=shown(s.cases),
        fevers=kinds["fevers"],
        illness_absences=kinds["illness_absences"],
        unconfirmed_screens=shown(s.unconfirmed_screens),
        window_cases=shown(s.window_cases),
        window_days=s.window_days,
    )


def district_level(cells: Iterable[SchoolLevelCell]) -> tuple[Level, dict[str, int]]:
    """The district's level (its highest school's; green with no school) and how many of its
    schools are at each level."""
    counted = Counter(c.level for c in cells)
    top = max(counted, key=lambda level: level.rank, default=Level.GREEN)
    return top, {level.value: counted.get(level, 0) for level in Level}
