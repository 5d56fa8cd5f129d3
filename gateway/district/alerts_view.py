"""A district's alert summary: open alerts counted by school, rule and severity; no rows."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select

from gateway.alerts.model import HEALTH_RULES, AlertState
from gateway.district.small_cells import hidden
from gateway.state import StateDB
from gateway.tables.alerts import alerts


@dataclass(frozen=True)
class AlertCount:
    school: str
    rule: str
    severity: str
    # None: fewer than the minimum alerts about students (a device's alerts name no one and
    # are always counted).
    open: int | None


def open_alert_counts(db: StateDB, schools: Collection[str], minimum: int) -> list[AlertCount]:
    """Alerts not yet resolved (open or acknowledged) of *schools*, by school, rule, severity."""
    if not schools:
        return []
    a = alerts.c
    rows = db.query(
        select(a.school, a.rule, a.severity, func.count().label("n"))
        .where(a.school.in_(sorted(schools)), a.state != AlertState.RESOLVED.value)
        .group_by(a.school, a.rule, a.severity)
        .order_by(a.school, a.rule, a.severity)
    )
    health = {r.value for r in HEALTH_RULES}
    return [
        AlertCount(
            r["school"],
            r["rule"],
            r["severity"],
            None if r["rule"] in health and hidden(r["n"], minimum) else r["n"],
        )
        for r in rows
    ]
