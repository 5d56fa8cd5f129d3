"""Erasure of one student: every row that names them, in the state and in the readings store."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Table, delete, select, update

from gateway.auth import User
from gateway.state import StateDB
from gateway.store.base import Store
from gateway.store.commit_log import CommitLog
from gateway.tables import metadata
from gateway.tables.alerts import alert_events, alert_sources, alerts, webhook_outbox
from gateway.tables.people import audit_log
from gateway.tables.roster import students


@dataclass
class Forgotten:
    """What an erasure removed, by table: counts that name nobody."""

    pseudonym: str
    removed: dict[str, int] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return any(self.removed.values())

    def summary(self) -> str:
        return ", ".join(f"{n} {what}" for what, n in sorted(self.removed.items()) if n) or "none"


def _student_tables() -> list[Table]:
    """Every table with a student_id column, those that refer to others first (so that a
    foreign key never points at a removed row). Found from the schema, so a table added
    later is erased too without being listed here."""
    return [t for t in reversed(metadata.sorted_tables) if "student_id" in t.c]


def forget_in_state(db: StateDB, student_id: str, by: User) -> Forgotten:
    """Remove the student's rows in one transaction; the audit log keeps who read what and
    when, under a pseudonym instead of the id (the law asks for the log to be kept; the
    person need not stay named in it), and records this erasure with its counts."""
    done = Forgotten(pseudonym=f"forgotten-{secrets.token_hex(6)}")
    with db.transaction() as conn:
        ids = [
            int(r[0])
            for r in conn.execute(select(alerts.c.id).where(alerts.c.student_id == student_id))
        ]
        if ids:
            # The queued webhook bodies are the alert's message, which may name the child.
            queued = conn.execute(select(webhook_outbox.c.id, webhook_outbox.c.alert_ids))
            mine = set(ids)
            doomed = [int(r.id) for r in queued if mine & set(json.loads(str(r.alert_ids)))]
            for chunk in _chunks(doomed):
                conn.execute(delete(webhook_outbox).where(webhook_outbox.c.id.in_(chunk)))
            done.removed["webhook_outbox"] = len(doomed)
            for table in (alert_events, alert_sources):
                removed = 0
                for chunk in _chunks(ids):
                    removed += conn.execute(
                        delete(table).where(table.c.alert_id.in_(chunk))
                    ).rowcount
                done.removed[table.name] = removed
        for table in _student_tables():
            done.removed[table.name] = conn.execute(
                delete(table).where(table.c.student_id == student_id)
            ).rowcount
        done.removed["students"] = conn.execute(
            delete(students).where(students.c.id == student_id)
        ).rowcount
        done.removed["audit_log (pseudonymised)"] = conn.execute(
            update(audit_log)
            .where(audit_log.c.subject_id == student_id)
            .values(subject_id=done.pseudonym)
        ).rowcount
        conn.execute(
            audit_log.insert().values(
                at=_now(),
                user_id=by.id,
                role=by.role.value,
                action="forget_student",
                subject_type="student",
                subject_id=done.pseudonym,
                detail=done.summary(),
            )
        )
    return done


def forget_readings(store: Store, log: CommitLog | None, student_id: str) -> dict[str, int]:
    """The student's messages in the readings store and in the commit log."""
    removed = {"messages": store.forget_student(student_id)}
    if log is not None:
        removed["commit_log"] = log.forget_student(student_id)
    return removed


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    # Bounded IN lists: SQLite caps the bound variables of a statement.
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _now() -> str:
    return datetime.now(UTC).isoformat()
