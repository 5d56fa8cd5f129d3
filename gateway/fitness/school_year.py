"""School years: from 1 September, China time, named by their first calendar year."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Final

# China keeps one time zone and no summer time: a school year starts on 1 September there.
CHINA: Final = timezone(timedelta(hours=8))


def school_year_of(at: datetime) -> int:
    """The school year a moment falls in: 2024 is 1 September 2024 to 31 August 2025."""
    local = at.astimezone(CHINA)
    return local.year if local.month >= 9 else local.year - 1
