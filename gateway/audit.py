"""Audit log: every read of health data by a person is recorded (who, what, when)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select

from gateway.auth import User
from gateway.state import StateDB
from gateway.tables.people import audit_log


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    user_id: str
    role: str
    action: str
    subject_type: str
    subject_id: str
    detail: str


class AuditLog:
    def __init__(self, db: StateDB) -> None:
        self.db = db

    def record(
        self,
        user: User,
        action: str,
        subject_type: str,
        subject_id: str,
        detail: str = "",
        at: datetime | None = None,
    ) -> None:
        when = (at or datetime.now(UTC)).isoformat()
        with self.db.transaction() as conn:
            conn.execute(
                insert(audit_log),
                [_row(when, user, action, subject_type, subject_id, detail)],
            )

    def record_many(
        self,
        user: User,
        action: str,
        subjects: list[tuple[str, str, str]],
        at: datetime | None = None,
    ) -> None:
        """Record several (subject_type, subject_id, detail) reads in one transaction."""
        if not subjects:
            return
        when = (at or datetime.now(UTC)).isoformat()
        with self.db.transaction() as conn:
            conn.execute(
                insert(audit_log),
                [
                    _row(when, user, action, subject_type, subject_id, detail)
                    for subject_type, subject_id, detail in subjects
                ],
            )

    def entries(
        self,
        *,
        subject_type: str | None = None,
        subject_id: str | None = None,
        user_id: str | None = None,
        limit: int = 1000,
    ) -> list[AuditEntry]:
        query = select(audit_log)
        for column, value in (
            (audit_log.c.subject_type, subject_type),
            (audit_log.c.subject_id, subject_id),
            (audit_log.c.user_id, user_id),
        ):
            if value is not None:
                query = query.where(column == value)
        return [
            AuditEntry(
                datetime.fromisoformat(r["at"]),
                r["user_id"],
                r["role"],
                r["action"],
                r["subject_type"],
                r["subject_id"],
                r["detail"],
            )
            for r in self.db.query(query.order_by(audit_log.c.id.desc()).limit(limit))
        ]


def _row(
    when: str, user: User, action: str, subject_type: str, subject_id: str, detail: str
) -> dict[str, str]:
    return {
        "at": when,
        "user_id": user.id,
        "role": user.role.value,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "detail": detail,
    }
