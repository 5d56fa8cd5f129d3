"""Which grade and class a student had in each school year of their growth record (pure).

Results entered since the results table kept them carry the student's grade and class when
tested; those say the year's grade ("recorded"). A year with none is counted from the nearest
year that does say it, one grade a year, the school year of today taking the roster's grade
("counted", or "roster" for this year itself): a student who repeated a grade is then placed
right in the years before the repeat only if a later year records it. A year with results of
more than one class or grade is reported, never refused: the year takes the grade of its
latest result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from gateway.fitness.results import TestResult
from gateway.roster import Student

GradeSource = Literal["recorded", "roster", "counted", "unknown"]


@dataclass(frozen=True)
class YearGrade:
    grade: str | None
    source: GradeSource
    classes: tuple[str, ...]  # the classes the year's results were taken in, first first
    notes: tuple[str, ...]  # "class_changed", "grade_changed:3>4", "repeated_grade"


def _step(grade: str, years: int) -> str | None:
    """*grade* moved *years* school years on (back when negative); None off grades 1-12 or for a
    university grade, which is not counted."""
    if not grade.isdigit():
        return None
    moved = int(grade) + years
    return str(moved) if 1 <= moved <= 12 else None


def _in_order(rows: Iterable[TestResult]) -> list[TestResult]:
    return sorted(rows, key=lambda r: (r.measured_at, r.id))


def _distinct(values: Iterable[str | None]) -> list[str]:
    out: list[str] = []
    for v in values:
        if v is not None and v not in out:
            out.append(v)
    return out


def year_grades(
    student: Student,
    rows_by_year: Mapping[int, Sequence[TestResult]],
    years: Iterable[int],
    this_year: int,
) -> dict[int, YearGrade]:
    """Each of *years*' grade; *this_year* is the school year the roster's grade is of."""
    wanted = list(years)
    recorded: dict[int, str] = {}
    seen: dict[int, tuple[list[str], list[str]]] = {}
    for year in wanted:
        rows = _in_order(rows_by_year.get(year, ()))
        grades = _distinct(r.grade for r in rows)
        classes = _distinct(r.class_id for r in rows)
        seen[year] = (grades, classes)
        with_grade = [r.grade for r in rows if r.grade is not None]
        if with_grade:
            recorded[year] = with_grade[-1]
    # What each year is counted from: the years that say their grade, and today's roster.
    anchors = dict(recorded)
    anchors.setdefault(this_year, student.grade)
    out: dict[int, YearGrade] = {}
    for year in wanted:
        grades, classes = seen[year]
        notes: list[str] = []
        if len(classes) > 1:
            notes.append("class_changed")
        if len(grades) > 1:
            notes.append("grade_changed:" + ">".join(grades))
        grade: str | None
        source: GradeSource
        if year in recorded:
            grade, source = recorded[year], "recorded"
            before = recorded.get(year - 1)
            if before is not None and before == grade:
                notes.append("repeated_grade")
        elif year == this_year:
            grade, source = student.grade, "roster"
        else:
            later = [y for y in anchors if y > year]
            anchor = min(later) if later else max(y for y in anchors if y < year)
            grade = _step(anchors[anchor], year - anchor)
            source = "counted" if grade is not None else "unknown"
        out[year] = YearGrade(grade, source, tuple(classes), tuple(notes))
    return out
