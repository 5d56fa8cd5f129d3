"""Check the gateway's SQLite state file for damage and, when an operator asks, rebuild it.

Unlike the edge buffer, the state (roster, users, devices, alerts, audit) is never repaired
on its own: a gateway that finds it damaged refuses to start and names `campusedge gateway
repair`, because a salvage can lose rows a person must know about (a student, an alert).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from campusedge import sqlite_salvage
from gateway.i18n import N_

DAMAGED = N_(
    "the state database {path} is damaged ({problem}). Stop the gateway, then run "
    "`campusedge gateway repair --state-db {path}` to see it, and add --salvage to "
    "move it aside and rebuild it from what still reads"
)


class StateDamaged(Exception):
    """The state file is damaged; the message says how and what to run."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(DAMAGED.format(path=path, problem=problem))
        self.path = path
        self.problem = problem


def check_state(path: Path) -> None:
    """Raise StateDamaged when the state file at *path* is damaged (a missing one is fine)."""
    try:
        problem = sqlite_salvage.check(path)
    except sqlite3.Error:
        return  # not damage (locked, unreadable): StateDB says so in its own words
    if problem is not None:
        raise StateDamaged(path, problem)


@dataclass(frozen=True)
class Rebuilt:
    """The outcome of `rebuild`."""

    moved_to: Path
    salvage: sqlite_salvage.Salvage
    foreign_key_problems: int  # salvaged rows whose parent row was lost


def rebuild(path: Path) -> Rebuilt:
    """Move the damaged *path* aside and rebuild it from the rows that still read.

    Raises OSError when the file cannot be moved, and ValueError when it is no SQLite file at
    all (a wrong path), which is then left as it is.
    """
    if sqlite_salvage.foreign(path):
        raise ValueError(f"{path} is not a SQLite file, nor a damaged one; it was left as it is")
    aside = sqlite_salvage.move_aside(path)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        salvage = (
            sqlite_salvage.salvage(aside, db)
            if aside.stat().st_size
            else sqlite_salvage.Salvage(schema_readable=False, error="the file was empty")
        )
        problems = len(db.execute("PRAGMA foreign_key_check").fetchall())
    finally:
        db.close()
    return Rebuilt(aside, salvage, problems)
