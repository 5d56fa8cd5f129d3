"""Vision screenings and the referral list they build (stored with the alert state)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.alerts.rules.vision import EYES, Screening
from gateway.state import StateDB

SCHEMA = """
CREATE TABLE IF NOT EXISTS vision_screenings (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    school TEXT NOT NULL,
    student_id TEXT NOT NULL,
    at TEXT NOT NULL,
    acuity_left REAL, acuity_right REAL,
    se_left REAL, se_right REAL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX IF NOT EXISTS vision_screenings_student ON vision_screenings(student_id, at);
CREATE TABLE IF NOT EXISTS referrals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    school TEXT NOT NULL,
    student_id TEXT NOT NULL,
    class_id TEXT,
    screened_at TEXT NOT NULL,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    findings TEXT NOT NULL,
    worst_grade TEXT,
    status TEXT NOT NULL DEFAULT 'open',
    updated_by TEXT,
    updated_at TEXT,
    UNIQUE (device_id, seq)
);
"""

REFERRAL_STATES = ("open", "parents_informed", "seen_by_optometrist", "closed")
_GRADE_ORDER = {"mild": 1, "moderate": 2, "severe": 3}


@dataclass(frozen=True)
class Referral:
    id: int
    school: str
    student_id: str
    class_id: str | None
    screened_at: datetime
    device_id: str
    findings: list[dict[str, Any]]
    worst_grade: str | None
    status: str
    updated_by: str | None
    updated_at: datetime | None


class Referrals:
    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.ensure(SCHEMA)

    def previous(self, student_id: str, before: datetime) -> Screening | None:
        rows = self.db.query(
            "SELECT * FROM vision_screenings WHERE student_id=? AND at < ? "
            "ORDER BY at DESC LIMIT 1",
            (student_id, before.isoformat()),
        )
        if not rows:
            return None
        r = rows[0]
        return Screening(
            {"left": r["acuity_left"], "right": r["acuity_right"]},
            {"left": r["se_left"], "right": r["se_right"]},
        )

    def record(
        self,
        school: str,
        student_id: str,
        class_id: str | None,
        at: datetime,
        device_id: str,
        seq: int,
        screening: Screening,
        findings: list[dict[str, Any]],
    ) -> Referral | None:
        """Store a screening and, when it has findings, its referral; a replay changes nothing."""
        with self.db.transaction() as conn:
            inserted = conn.execute(
                "INSERT OR IGNORE INTO vision_screenings(device_id, seq, school, student_id, at, "
                "acuity_left, acuity_right, se_left, se_right) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    device_id,
                    seq,
                    school,
                    student_id,
                    at.isoformat(),
                    *(screening.acuity[e] for e in EYES),
                    *(screening.spherical_equivalent[e] for e in EYES),
                ),
            ).rowcount
            if not inserted or not findings:
                return None
            grades = [f["grade"] for f in findings if "grade" in f]
            worst = max(grades, key=lambda g: _GRADE_ORDER[g]) if grades else None
            conn.execute(
                "INSERT OR IGNORE INTO referrals(school, student_id, class_id, screened_at, "
                "device_id, seq, findings, worst_grade) VALUES (?,?,?,?,?,?,?,?)",
                (
                    school,
                    student_id,
                    class_id,
                    at.isoformat(),
                    device_id,
                    seq,
                    json.dumps(findings),
                    worst,
                ),
            )
        return self.find(device_seq=(device_id, seq))[0]

    def set_status(self, referral_id: int, status: str, user_id: str, at: datetime) -> bool:
        if status not in REFERRAL_STATES:
            raise ValueError(f"status must be one of {', '.join(REFERRAL_STATES)}")
        with self.db.transaction() as conn:
            return (
                conn.execute(
                    "UPDATE referrals SET status=?, updated_by=?, updated_at=? WHERE id=?",
                    (status, user_id, at.isoformat(), referral_id),
                ).rowcount
                > 0
            )

    def find(
        self,
        *,
        school: str | None = None,
        status: str | None = None,
        class_id: str | None = None,
        device_seq: tuple[str, int] | None = None,
        limit: int = 1000,
    ) -> list[Referral]:
        sql, params = "SELECT * FROM referrals WHERE 1=1", list[object]()
        if school is not None:
            sql += " AND school=?"
            params.append(school)
        if class_id is not None:
            sql += " AND class_id=?"
            params.append(class_id)
        if status is not None:
            sql += " AND status=?"
            params.append(status)
        if device_seq is not None:
            sql += " AND device_id=? AND seq=?"
            params += [device_seq[0], device_seq[1]]
        sql += " ORDER BY screened_at DESC, id DESC LIMIT ?"
        return [
            Referral(
                r["id"],
                r["school"],
                r["student_id"],
                r["class_id"],
                datetime.fromisoformat(r["screened_at"]),
                r["device_id"],
                json.loads(r["findings"]),
                r["worst_grade"],
                r["status"],
                r["updated_by"],
                datetime.fromisoformat(r["updated_at"]) if r["updated_at"] else None,
            )
            for r in self.db.query(sql, (*params, limit))
        ]
