"""A competition's final results as one table (CSV or XLSX): the leaderboard, flattened.

One row per ranked individual, class and school, in the leaderboard's order, with the same
public projection (initials unless full names are allowed). Text a spreadsheet would read as
a formula (=, +, -, @ first) is written with a leading apostrophe.
"""

from __future__ import annotations

from gateway.competition.leaderboard import Leaderboard
from gateway.fitness.export import Cell
from gateway.i18n import N_, Translator

COLUMNS = (
    N_("event"),
    N_("ranking"),
    N_("grade"),
    N_("sex"),
    N_("rank"),
    N_("school"),
    N_("class"),
    N_("name"),
    N_("count"),
    N_("team score"),
    N_("participants"),
)


def _safe(value: str | None) -> str | None:
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


def rows(board: Leaderboard, translator: Translator) -> tuple[list[str], list[list[Cell]]]:
    """The header (in the reader's language) and the rows."""
    header = [translator.gettext(c) for c in COLUMNS]
    individual, klass, school = (
        translator.gettext(N_("individual")),
        translator.gettext(N_("class")),
        translator.gettext(N_("school")),
    )
    out: list[list[Cell]] = []
    for ev in board.events:
        for group in ev.individuals:
            for r in group.ranking:
                out.append(
                    [
                        _safe(ev.name),
                        individual,
                        _safe(group.grade),
                        group.sex,
                        r.rank,
                        _safe(r.school),
                        _safe(r.class_name),
                        _safe(r.name),
                        r.count,
                        None,
                        None,
                    ]
                )
        for kind, teams in ((klass, ev.classes), (school, ev.schools)):
            for t in teams:
                out.append(
                    [
                        _safe(ev.name),
                        kind,
                        None,
                        None,
                        t.rank,
                        _safe(t.school),
                        _safe(t.class_name),
                        None,
                        None,
                        t.score,
                        t.participants,
                    ]
                )
    return header, out
