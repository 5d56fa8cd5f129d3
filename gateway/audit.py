"""Audit log: every read of health data by a person is recorded (who, what, when), and every
read of the log itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, RowMapping, insert, or_, select

from gateway.auth import User
from gateway.state import StateDB
from gateway.tables.people import audit_log

# The subject types that name a student by their id ("student", "student_heart_rate",
# "student_fitness", and those to come, which keep the prefix).
STUDENT_SUBJECT = "student"


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to read: any of student, user and time range [since, until)."""

    student_id: str | None = None
    user_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def describe(self) -> str:
        """The filter as it is recorded in the entry for this read."""
        parts = [
            f"{name}={value.isoformat() if isinstance(value, datetime) else value}"
            for name, value in (
                ("student", self.student_id),
                ("user", self.user_id),
                ("since", self.since),
                ("until", self.until),
            )
            if value is not None
        ]
        return " ".join(parts) or "all"

    def conditions(self) -> list[ColumnElement[bool]]:
        c = audit_log.c
        found: list[ColumnElement[bool]] = []
        if self.student_id is not None:
            found.append(c.subject_id == self.student_id)
            found.append(
                or_(
                    c.subject_type == STUDENT_SUBJECT,
                    c.subject_type.startswith(f"{STUDENT_SUBJECT}_", autoescape=True),
                )
            )
        if self.user_id is not None:
            found.append(c.user_id == self.user_id)
        if self.since is not None:
            found.append(c.at >= _utc(self.since))
        if self.until is not None:
            found.append(c.at < _utc(self.until))
        return found


def _utc(at: datetime) -> str:
    # Stored as UTC ISO text: text order is time order only in one time zone.
    return at.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    user_id: str
    role: str
    action: str
    subject_type: str
    subject_id: str
    detail: str
    id: int = 0


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
        when = _utc(at or datetime.now(UTC))
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
        when = _utc(at or datetime.now(UTC))
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
            _entry(r) for r in self.db.query(query.order_by(audit_log.c.id.desc()).limit(limit))
        ]

    def find(
        self, where: AuditFilter, *, before_id: int | None = None, limit: int | None = None
    ) -> list[AuditEntry]:
        """Entries matching *where*, newest first (below *before_id*, at most *limit*).

        Not recorded: a person's read goes through `read`, or is recorded by its caller
        (an export records itself once, not once per page).
        """
        query = select(audit_log).where(*where.conditions())
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        query = query.order_by(audit_log.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        return [_entry(r) for r in self.db.query(query)]

    def read(
        self, reader: User, where: AuditFilter, *, before_id: int | None = None, limit: int = 100
    ) -> tuple[list[AuditEntry], bool]:
        """A page of `find` and whether older entries follow; the read itself is recorded as
        *reader*'s, with the filter and how many entries it returned."""
        found = self.find(where, before_id=before_id, limit=limit + 1)
        page = found[:limit]
        after = f" before_id={before_id}" if before_id is not None else ""
        self.record(
            reader, "read_audit", "audit_log", where.describe(), f"entries={len(page)}{after}"
        )
        return page, len(found) > limit


def _entry(r: RowMapping) -> AuditEntry:
    return AuditEntry(
        datetime.fromisoformat(r["at"]),
        r["user_id"],
        r["role"],
        r["action"],
        r["subject_type"],
        r["subject_id"],
        r["detail"],
        r["id"],
    )


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
