"""Audit log: every read of health data by a person is recorded (who, what, when)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.auth import User
from gateway.state import StateDB

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_subject ON audit_log(subject_type, subject_id);
"""


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
        db.ensure(SCHEMA)

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
                "INSERT INTO audit_log(at, user_id, role, action, subject_type, subject_id, "
                "detail) VALUES (?,?,?,?,?,?,?)",
                (when, user.id, user.role.value, action, subject_type, subject_id, detail),
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
            conn.executemany(
                "INSERT INTO audit_log(at, user_id, role, action, subject_type, subject_id, "
                "detail) VALUES (?,?,?,?,?,?,?)",
                [
                    (when, user.id, user.role.value, action, subject_type, subject_id, detail)
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
        sql = "SELECT * FROM audit_log WHERE 1=1"
        params: list[object] = []
        for column, value in (
            ("subject_type", subject_type),
            ("subject_id", subject_id),
            ("user_id", user_id),
        ):
            if value is not None:
                sql += f" AND {column}=?"
                params.append(value)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
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
            for r in self.db.query(sql, tuple(params))
        ]
