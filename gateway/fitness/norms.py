"""Where a result stands against the standard's level boundaries for a grade and sex (pure).

The 2014 standard names an item's levels by its score: 及格 from 60, 良好 from 80, 优秀 from
90 (the same cut-offs as the total's levels), and its table gives the result each score needs
for a grade and sex. A level's boundary is therefore the result of the lowest score of the
table that reaches the level's cut-off; full marks (100) is the last step above 优秀. Blank
cells of the published tables are skipped, as scoring skips them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from gateway.fitness.standard import ITEM_IDS, Direction, ItemId, ScoreTable, Sex, Standard
from gateway.fitness.values import SPECS

NormLevel = Literal["pass", "good", "excellent", "full"]
# The score that opens each level, lowest first.
CUT_OFFS: Final[tuple[tuple[NormLevel, int], ...]] = (
    ("pass", 60),
    ("good", 80),
    ("excellent", 90),
    ("full", 100),
)


@dataclass(frozen=True)
class Boundary:
    """The result a level starts at for one grade and sex (`score` is the table's cell)."""

    level: NormLevel
    score: int
    threshold: Decimal


@dataclass(frozen=True)
class Norm:
    """A result against its grade's boundaries: the highest one reached (None: below 及格), the
    next one up and how far the result is from it, in the item's unit and always positive
    (seconds to take off a run, centimetres to add to a jump); no next at full marks."""

    grade: str
    sex: Sex
    unit: str
    direction: Direction
    boundaries: tuple[Boundary, ...]
    reached: NormLevel | None
    next: Boundary | None
    gap: Decimal | None


def boundaries(table: ScoreTable) -> tuple[Boundary, ...]:
    """Each level's boundary in the table, lowest level first; a level no cell reaches is left
    out."""
    out: list[Boundary] = []
    for level, cut_off in CUT_OFFS:
        # Cells are best first: the last one still at or above the cut-off is the easiest.
        reaching = [c for c in table.cells if c.score >= cut_off]
        if reaching:
            cell = reaching[-1]
            out.append(Boundary(level, cell.score, cell.threshold))
    return tuple(out)


def norm_for(standard: Standard, item: str, grade: str, sex: Sex, value: Decimal) -> Norm | None:
    """*value* against the boundaries of *item* for *grade* and *sex*; None when the grade and
    sex do not take the item or it has no score table (BMI is banded, not tabled)."""
    known: ItemId | None = next((i for i in ITEM_IDS if i == item), None)
    if known is None or known == "bmi" or known not in standard.items_for(grade, sex):
        return None
    table = standard.tables.get((known, grade, sex))
    if table is None:
        return None
    steps = boundaries(table)
    reached = [b for b in steps if table.reaches(value, b.threshold)]
    above = [b for b in steps if not table.reaches(value, b.threshold)]
    following = above[0] if above else None
    gap = None
    if following is not None:
        difference = following.threshold - value
        gap = difference if table.direction == "higher_is_better" else -difference
    return Norm(
        grade=grade,
        sex=sex,
        unit=SPECS[known].unit,  # the unit results are stored in
        direction=table.direction,
        boundaries=steps,
        reached=reached[-1].level if reached else None,
        next=following,
        gap=gap,
    )
