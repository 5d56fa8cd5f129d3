"""Names of scheduled backups in a folder, and pruning all but the newest N of them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

PREFIX = "campusedge-backup-"
SUFFIX = ".tar.gz"
# Only names this module made are pruned: anything else in the folder is left alone.
_NAME = re.compile(re.escape(PREFIX) + r"\d{8}T\d{6}Z" + re.escape(SUFFIX))


def backup_name(now: datetime | None = None) -> str:
    """`campusedge-backup-20260904T021500Z.tar.gz`: the UTC time, so names sort by age."""
    return f"{PREFIX}{(now or datetime.now(UTC)).strftime('%Y%m%dT%H%M%SZ')}{SUFFIX}"


def scheduled_backups(folder: Path) -> list[Path]:
    """The backups this command named in *folder*, oldest first."""
    return sorted(p for p in folder.iterdir() if p.is_file() and _NAME.fullmatch(p.name))


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest *keep* scheduled backups in *folder*; return what went."""
    if keep < 1:
        raise ValueError("keep at least one backup")
    old = scheduled_backups(folder)[:-keep]
    for path in old:
        path.unlink(missing_ok=True)
    return old
