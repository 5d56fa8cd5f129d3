"""Helpers for state tests: rows as an older release left them, and its next start."""

from __future__ import annotations

from sqlalchemy import text

from gateway.state import StateDB


def reopened_from(db: StateDB, revision: str) -> StateDB:
    """*db* as a release at schema *revision* left it, opened by this code (which upgrades it
    from there, as the next start of the gateway would)."""
    with db.transaction() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num=:r"), {"r": revision})
    return StateDB(db.url)
