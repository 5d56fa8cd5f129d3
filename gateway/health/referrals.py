"""Vision screenings and the referral list they build, followed up by health staff."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from gateway.health.vision import EYES, Screening
from gateway.state import StateDB, dialect_insert
from gateway.tables.health import referrals, vision_screenings

REFERRAL_STATES = ("open", "parents_informed", "seen_by_optometrist", "closed")
_GRADE_ORDER = {"mild": 1, "moderate": 2, "severe": 3}


@dataclass(frozen=True)
class Referral:
    """A child a screening sent on to an optometrist, and where the follow-up stands."""

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


def _refraction_columns(screening: Screening) -> dict[str, float | None]:
    columns: dict[str, float | None] = {}
    for eye in EYES:
        r = screening.refraction.get(eye)
        columns[f"sphere_{eye}"] = r.sphere if r else None
        columns[f"cylinder_{eye}"] = r.cylinder if r else None
        columns[f"axis_{eye}"] = r.axis if r else None
    return columns


class Referrals:
    """The screenings and referrals tables: written by the health consumer, read by the API."""

    def __init__(self, db: StateDB) -> None:
        self.db = db

    def previous(self, student_id: str, before: datetime) -> Screening | None:
        """The student's last screening before *before* (an acuity drop is judged against it)."""
        v = vision_screenings.c
        rows = self.db.query(
            select(vision_screenings)
            .where(v.student_id == student_id, v.at < before.isoformat())
            .order_by(v.at.desc())
            .limit(1)
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
                dialect_insert(conn, vision_screenings)
                .values(
                    device_id=device_id,
                    seq=seq,
                    school=school,
                    student_id=student_id,
                    at=at.isoformat(),
                    **{f"acuity_{e}": screening.acuity[e] for e in EYES},
                    **{f"se_{e}": screening.spherical_equivalent[e] for e in EYES},
                    **_refraction_columns(screening),
                )
                .on_conflict_do_nothing()
            ).rowcount
            if not inserted or not findings:
                return None
            grades = [f["grade"] for f in findings if "grade" in f]
            worst = max(grades, key=lambda g: _GRADE_ORDER[g]) if grades else None
            conn.execute(
                dialect_insert(conn, referrals)
                .values(
                    school=school,
                    student_id=student_id,
                    class_id=class_id,
                    screened_at=at.isoformat(),
                    device_id=device_id,
                    seq=seq,
                    findings=json.dumps(findings),
                    worst_grade=worst,
                )
                .on_conflict_do_nothing()
            )
        return self.find(device_seq=(device_id, seq))[0]

    def set_status(
        self,
        referral_id: int,
        status: str,
        user_id: str,
        at: datetime,
        schools: Collection[str] | None = None,
    ) -> bool:
        """Whether referral *referral_id* (of one of *schools*, when given) was found and set."""
        if status not in REFERRAL_STATES:
            raise ValueError(f"status must be one of {', '.join(REFERRAL_STATES)}")
        change = update(referrals).where(referrals.c.id == referral_id)
        if schools is not None:
            change = change.where(referrals.c.school.in_(sorted(schools)))
        with self.db.transaction() as conn:
            return (
                conn.execute(
                    change.values(status=status, updated_by=user_id, updated_at=at.isoformat())
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
        schools: Collection[str] | None = None,
    ) -> list[Referral]:
        """Newest first; *schools* narrows it to those schools' referrals."""
        r_ = referrals.c
        query = select(referrals)
        if schools is not None:
            query = query.where(r_.school.in_(sorted(schools)))
        if school is not None:
            query = query.where(r_.school == school)
        if class_id is not None:
            query = query.where(r_.class_id == class_id)
        if status is not None:
            query = query.where(r_.status == status)
        if device_seq is not None:
            query = query.where(r_.device_id == device_seq[0], r_.seq == device_seq[1])
        query = query.order_by(r_.screened_at.desc(), r_.id.desc()).limit(limit)
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
            for r in self.db.query(query)
        ]
