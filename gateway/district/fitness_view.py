"""A district's fitness view: per school and grade, tested counts, mean and median per item,
and the share of students per level, with every small group hidden (gateway.district.small_cells).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from gateway.district.small_cells import share, suppress
from gateway.fitness.standard import Standard
from gateway.fitness.summary import StudentSummary, distribution

UNTESTED = "untested"


@dataclass(frozen=True)
class ItemCell:
    """One item of one school's grade; the figures are None where too few students took it."""

    item: str
    unit: str | None
    tested: int | None
    mean: float | None
    median: float | None
    # level (for `bmi`: band) -> students; None where the count is too small to show.
    levels: dict[str, int | None]
    shares: dict[str, float | None]
    suppressed: bool


@dataclass(frozen=True)
class GradeCell:
    """One grade of one school: its students on the roster, how many have a result, the items
    and the total levels (优秀/良好/及格/不及格 as excellent/good/pass/fail)."""

    school: str
    grade: str
    students: int
    tested: int | None
    items: list[ItemCell]
    with_total: int | None
    total_levels: dict[str, int | None]
    total_shares: dict[str, float | None]
    suppressed: bool


def _stat(values: list[Decimal], how: str) -> float:
    figure = statistics.fmean(values) if how == "mean" else float(statistics.median(values))
    return round(float(figure), 2)


def _levels(counts: dict[str, int], minimum: int) -> tuple[int, dict[str, int | None]]:
    tested = {k: v for k, v in counts.items() if k != UNTESTED}
    return sum(tested.values()), suppress(tested, minimum)


def _item(
    item: str, counts: dict[str, int], summaries: list[StudentSummary], minimum: int
) -> ItemCell:
    results = [s.items[item] for s in summaries if item in s.items]
    tested, levels = _levels(counts, minimum)
    if tested < minimum:
        return ItemCell(item, None, None, None, None, {}, {}, suppressed=True)
    values = [r.value for r in results]
    return ItemCell(
        item,
        results[0].unit,
        tested,
        _stat(values, "mean"),
        _stat(values, "median"),
        levels,
        {k: share(v, tested) for k, v in levels.items()},
        suppressed=False,
    )


def grade_cells(
    standard: Standard, school: str, summaries: Iterable[StudentSummary], minimum: int
) -> list[GradeCell]:
    """The school's grades in order, each with what a district may see of it."""
    by_grade: dict[str, list[StudentSummary]] = {}
    for summary in summaries:
        by_grade.setdefault(summary.student.grade, []).append(summary)
    cells = []
    for grade in sorted(by_grade, key=lambda g: (len(g), g)):  # "2" before "10"
        group = by_grade[grade]
        tested = sum(1 for s in group if s.items)
        if tested < minimum:
            cells.append(GradeCell(school, grade, len(group), None, [], None, {}, {}, True))
            continue
        dist = distribution(standard, group)
        items = [
            _item(item, counts, group, minimum) for item, counts in dist.items() if item != "total"
        ]
        with_total, totals = _levels(dist["total"], minimum)
        hidden_total = with_total < minimum
        cells.append(
            GradeCell(
                school,
                grade,
                len(group),
                tested,
                items,
                None if hidden_total else with_total,
                {} if hidden_total else totals,
                {} if hidden_total else {k: share(v, with_total) for k, v in totals.items()},
                suppressed=False,
            )
        )
    return cells
