"""Small-cell suppression: a count of a few students in a district view could name a child."""

from __future__ import annotations

from collections.abc import Mapping


def hidden(count: int, minimum: int) -> bool:
    """Whether *count* students is too few to show: from 1 to `minimum - 1` (none is shown)."""
    return 0 < count < minimum


def suppress(counts: Mapping[str, int], minimum: int) -> dict[str, int | None]:
    """The counts of one group's categories with each small one hidden (None).

    When exactly one is hidden and the group's total is shown, it could be worked out by
    subtraction: the smallest other non-zero count is hidden too (secondary suppression).
    """
    out: dict[str, int | None] = {k: (None if hidden(v, minimum) else v) for k, v in counts.items()}
    if sum(v is None for v in out.values()) == 1:
        shown = [(v, k) for k, v in out.items() if v]
        if shown:
            out[min(shown)[1]] = None
    return out


def share(count: int | None, of: int) -> float | None:
    """*count* as a share of *of*, rounded to 3 places; None where the count is hidden."""
    if count is None or of == 0:
        return None
    return round(count / of, 3)
