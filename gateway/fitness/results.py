"""Fitness test results bound to a student and a test session, scored on entry; re-tests kept.

Every attempt is a row of its own and is never overwritten: the "current" result of a student
for an item in a session is the latest by measurement time (then by row id). Device results are
idempotent on (device_id, seq), so a message redelivered after a crash adds nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final, Literal

from gateway.fitness.scoring import score_item
from gateway.fitness.standard import ITEM_IDS, ItemId, Sex, Standard, load_standard
from gateway.fitness.values import SPECS, FieldError, parse_measure
from gateway.roster import LessonKind, Roster, Student
from gateway.state import StateDB

SCHEMA = """
CREATE TABLE IF NOT EXISTS fitness_results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lesson_id TEXT NOT NULL REFERENCES lessons(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    item TEXT NOT NULL,
    value TEXT NOT NULL,
    unit TEXT NOT NULL,
    score INTEGER,
    bonus INTEGER,
    source TEXT NOT NULL CHECK (source IN ('device', 'staff')),
    device_id TEXT,
    seq INTEGER,
    entered_by TEXT,
    measured_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    CHECK ((source = 'device') = (device_id IS NOT NULL AND seq IS NOT NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS fitness_results_device_seq
    ON fitness_results(device_id, seq) WHERE device_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS fitness_results_lesson ON fitness_results(lesson_id, student_id);
CREATE INDEX IF NOT EXISTS fitness_results_student ON fitness_results(student_id);
"""

# What can be recorded: the engine's items plus the two measurements BMI is computed from.
MEASURES: Final[tuple[str, ...]] = ("height_cm", "weight_kg", *ITEM_IDS)
Source = Literal["device", "staff"]


class ResultError(FieldError):
    """A result that cannot be recorded; `field` names what to fix."""


@dataclass(frozen=True)
class TestResult:
    """One recorded attempt. `score`/`bonus` are None for height and weight (no table)."""

    id: int
    lesson_id: str
    student_id: str
    item: str
    value: Decimal
    unit: str
    score: int | None
    bonus: int | None
    source: Source
    device_id: str | None
    seq: int | None
    entered_by: str | None
    measured_at: datetime
    recorded_at: datetime


@dataclass(frozen=True)
class NewResult:
    """A result to record, before it has an id."""

    lesson_id: str
    student_id: str
    item: str
    raw_value: object
    measured_at: datetime
    source: Source
    device_id: str | None = None
    seq: int | None = None
    entered_by: str | None = None


def engine_sex(student: Student) -> Sex:
    return "male" if student.sex == "M" else "female"


def canonical(value: Decimal) -> Decimal:
    """Whole numbers without a trailing ".0", so 60.0 skips are stored and shown as 60."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat()


class FitnessResults:
    """The results table; scoring happens here so that every stored row carries its score."""

    def __init__(self, db: StateDB, roster: Roster, standard: Standard | None = None) -> None:
        self.db = db
        self.roster = roster
        self.standard = standard or load_standard()
        db.ensure(SCHEMA)

    def check(self, new: NewResult) -> tuple[Decimal, str, int | None, int | None]:
        """Validate and score one result: (value, unit, score, bonus), or a ResultError."""
        lesson = self.roster.lesson(new.lesson_id)
        if lesson is None:
            raise ResultError("lesson_id", f"no test session {new.lesson_id!r}")
        if lesson.kind is not LessonKind.FITNESS_TEST:
            raise ResultError(
                "lesson_id",
                f"lesson {new.lesson_id!r} is a {lesson.kind.value}, not a fitness_test session",
            )
        student = self.roster.student(new.student_id)
        if student is None or student.class_id != lesson.class_id:
            raise ResultError(
                "student_id",
                f"student {new.student_id!r} is not in class "
                f"{lesson.class_id!r} of session {lesson.id!r}",
            )
        if new.item not in MEASURES:
            raise ResultError(
                "item", f"unknown item {new.item!r}; expected one of {', '.join(MEASURES)}"
            )
        try:
            value = canonical(parse_measure(new.item, new.raw_value, "value"))
        except FieldError as exc:
            raise ResultError(exc.field, exc.message) from None
        if new.item in ("height_cm", "weight_kg"):
            return value, SPECS[new.item].unit, None, None
        item: ItemId = next(i for i in ITEM_IDS if i == new.item)
        sex = engine_sex(student)
        if item not in self.standard.items_for(student.grade, sex):
            raise ResultError(
                "item", f"{item} is not a test item for grade {student.grade} {sex} students"
            )
        scored = score_item(self.standard, item, student.grade, sex, value)
        return value, SPECS[item].unit, scored.score, scored.bonus

    def record(self, results: Sequence[NewResult]) -> list[TestResult | ResultError]:
        """Check and store results in one transaction; one outcome per input, in order.

        A device result whose (device_id, seq) is already stored returns the stored row.
        """
        outcomes: list[TestResult | ResultError] = []
        now = datetime.now(UTC)
        with self.db.transaction() as conn:
            for new in results:
                try:
                    value, unit, score, bonus = self.check(new)
                except ResultError as exc:
                    outcomes.append(exc)
                    continue
                cur = conn.execute(
                    "INSERT INTO fitness_results(lesson_id, student_id, item, value, unit, score,"
                    " bonus, source, device_id, seq, entered_by, measured_at, recorded_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
                    " ON CONFLICT(device_id, seq) WHERE device_id IS NOT NULL DO NOTHING",
                    (
                        new.lesson_id,
                        new.student_id,
                        new.item,
                        str(value),
                        unit,
                        score,
                        bonus,
                        new.source,
                        new.device_id,
                        new.seq,
                        new.entered_by,
                        _iso(new.measured_at),
                        _iso(now),
                    ),
                )
                params: tuple[object, ...]
                if cur.rowcount:
                    sql, params = "SELECT * FROM fitness_results WHERE id=?", (cur.lastrowid,)
                else:  # already stored: the same device message came again
                    sql = "SELECT * FROM fitness_results WHERE device_id=? AND seq=?"
                    params = (new.device_id, new.seq)
                outcomes.append(_result(conn.execute(sql, params).fetchone()))
        return outcomes

    def is_recorded(self, device_id: str, seq: int) -> bool:
        return bool(
            self.db.query(
                "SELECT 1 FROM fitness_results WHERE device_id=? AND seq=?", (device_id, seq)
            )
        )

    def rows(
        self, *, lesson_ids: Iterable[str] | None = None, student_id: str | None = None
    ) -> list[TestResult]:
        """Every attempt (history), oldest first by measurement time."""
        sql, params = "SELECT * FROM fitness_results WHERE 1=1", []
        if lesson_ids is not None:
            ids = list(lesson_ids)
            if not ids:
                return []
            sql += f" AND lesson_id IN ({','.join('?' * len(ids))})"
            params.extend(ids)
        if student_id is not None:
            sql += " AND student_id=?"
            params.append(student_id)
        return [_result(r) for r in self.db.query(sql + " ORDER BY measured_at, id", tuple(params))]


def current(rows: Iterable[TestResult]) -> dict[tuple[str, str], tuple[TestResult, int]]:
    """(student, item) -> (latest attempt, number of attempts); latest by measured_at, then id."""
    out: dict[tuple[str, str], tuple[TestResult, int]] = {}
    for row in rows:
        key = (row.student_id, row.item)
        held = out.get(key)
        if held is None:
            out[key] = (row, 1)
        else:
            best = (
                row if (row.measured_at, row.id) >= (held[0].measured_at, held[0].id) else held[0]
            )
            out[key] = (best, held[1] + 1)
    return out


def _result(r: sqlite3.Row) -> TestResult:
    return TestResult(
        id=r["id"],
        lesson_id=r["lesson_id"],
        student_id=r["student_id"],
        item=r["item"],
        value=Decimal(r["value"]),
        unit=r["unit"],
        score=r["score"],
        bonus=r["bonus"],
        source=r["source"],
        device_id=r["device_id"],
        seq=r["seq"],
        entered_by=r["entered_by"],
        measured_at=datetime.fromisoformat(r["measured_at"]),
        recorded_at=datetime.fromisoformat(r["recorded_at"]),
    )
