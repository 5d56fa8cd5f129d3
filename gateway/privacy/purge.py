"""Removing state rows past their retention, one data class at a time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from gateway.state import StateDB
from gateway.tables.alerts import alert_events, alert_sources, alerts
from gateway.tables.fitness import fitness_results
from gateway.tables.health import absences, referrals, vision_screenings
from gateway.tables.people import audit_log

# Alerts are removed in slices: one sweep of a large backlog must not hold the state
# database's write lock for long while ingest's consumers wait on it.
_SLICE = 500


def purge_health_alerts(db: StateDB, before: datetime) -> int:
    """Alerts resolved before *before*, with their events and sources; and absences (with
    their symptoms) of days before it. Open alerts are kept however old they are."""
    cut = before.isoformat()
    removed = 0
    while True:
        with db.transaction() as conn:
            ids = [
                int(r[0])
                for r in conn.execute(
                    select(alerts.c.id)
                    .where(alerts.c.state == "resolved", alerts.c.resolved_at < cut)
                    .limit(_SLICE)
                )
            ]
            if not ids:
                break
            conn.execute(delete(alert_events).where(alert_events.c.alert_id.in_(ids)))
            conn.execute(delete(alert_sources).where(alert_sources.c.alert_id.in_(ids)))
            removed += conn.execute(delete(alerts).where(alerts.c.id.in_(ids))).rowcount
    with db.transaction() as conn:
        removed += conn.execute(
            delete(absences).where(absences.c.day < before.date().isoformat())
        ).rowcount
    return removed


def purge_vision_records(db: StateDB, before: datetime) -> int:
    """Vision screenings and their referrals from before *before*."""
    cut = before.isoformat()
    with db.transaction() as conn:
        removed = conn.execute(delete(referrals).where(referrals.c.screened_at < cut)).rowcount
        removed += conn.execute(
            delete(vision_screenings).where(vision_screenings.c.at < cut)
        ).rowcount
    return removed


def purge_fitness_results(db: StateDB, before: datetime) -> int:
    with db.transaction() as conn:
        return conn.execute(
            delete(fitness_results).where(fitness_results.c.measured_at < before.isoformat())
        ).rowcount


def purge_audit_log(db: StateDB, before: datetime) -> int:
    with db.transaction() as conn:
        return conn.execute(delete(audit_log).where(audit_log.c.at < before.isoformat())).rowcount
