"""Fitness test results bound to a student and a test session, scored on entry; re-tests kept.

Every attempt is a row of its own and is never overwritten: the "current" result of a student
for an item in a session is the latest by measurement time (then by row id). Device results are
idempotent on (device_id, seq), so a message redelivered after a crash adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final, Literal

from sqlalchemy import RowMapping, select

from gateway.fitness.school_year import school_year_of
from gateway.fitness.scoring import score_item
from gateway.fitness.standard import ITEM_IDS, ItemId, Sex, Standard, load_standard
from gateway.fitness.values import SPECS, FieldError, Term, item_term, parse_measure
from gateway.i18n import N_
from gateway.roster import LessonKind, Roster, Student
from gateway.state import StateDB, dialect_insert
from gateway.tables.fitness import fitness_results

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
    grade: str | None = None  # the student's grade and class when tested, where recorded
    class_id: str | None = None


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
                N_("student {student_id!r} is not in class {class_id!r} of session {lesson_id!r}"),
                student_id=new.student_id,
                class_id=lesson.class_id,
                lesson_id=lesson.id,
            )
        if new.item not in MEASURES:
            raise ResultError(
                "item",
                N_("unknown item {item!r}; expected one of {items}"),
                item=new.item,
                items=", ".join(MEASURES),
            )
        try:
            value = canonical(parse_measure(new.item, new.raw_value, "value"))
        except FieldError as exc:
            raise ResultError(exc.field, exc.template, **exc.values) from None
        if new.item in ("height_cm", "weight_kg"):
            return value, SPECS[new.item].unit, None, None
        item: ItemId = next(i for i in ITEM_IDS if i == new.item)
        sex = engine_sex(student)
        if item not in self.standard.items_for(student.grade, sex):
            raise ResultError(
                "item",
                N_("{item} is not a test item for grade {grade} {sex} students"),
                item=item_term(item),
                grade=student.grade,
                sex=Term(sex, "男" if sex == "male" else "女"),
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
                # check() found the student in the session's class. The roster's grade is
                # this school year's: a result typed in later for a past year does not say
                # that year's grade, and is left for the growth record to count.
                student = self.roster.student(new.student_id)
                graded = school_year_of(new.measured_at) == school_year_of(now)
                f = fitness_results.c
                stored = (
                    conn.execute(
                        dialect_insert(conn, fitness_results)
                        .values(
                            lesson_id=new.lesson_id,
                            student_id=new.student_id,
                            item=new.item,
                            value=str(value),
                            unit=unit,
                            score=score,
                            bonus=bonus,
                            source=new.source,
                            device_id=new.device_id,
                            seq=new.seq,
                            entered_by=new.entered_by,
                            measured_at=_iso(new.measured_at),
                            recorded_at=_iso(now),
                            grade=student.grade if student and graded else None,
                            class_id=student.class_id if student else None,
                        )
                        .on_conflict_do_nothing(
                            index_elements=[f.device_id, f.seq],
                            index_where=f.device_id.is_not(None),
                        )
                        .returning(fitness_results)
                    )
                    .mappings()
                    .first()
                )
                if stored is None:  # already stored: the same device message came again
                    stored = (
                        conn.execute(
                            select(fitness_results).where(
                                f.device_id == new.device_id, f.seq == new.seq
                            )
                        )
                        .mappings()
                        .one()
                    )
                outcomes.append(_result(stored))
        return outcomes

    def is_recorded(self, device_id: str, seq: int) -> bool:
        f = fitness_results.c
        return bool(self.db.query(select(f.id).where(f.device_id == device_id, f.seq == seq)))

    def rows(
        self,
        *,
        lesson_ids: Iterable[str] | None = None,
        student_id: str | None = None,
        student_ids: Iterable[str] | None = None,
    ) -> list[TestResult]:
        """Every attempt (history), oldest first by measurement time."""
        f = fitness_results.c
        query = select(fitness_results)
        if lesson_ids is not None:
            ids = list(lesson_ids)
            if not ids:
                return []
            query = query.where(f.lesson_id.in_(ids))
        if student_id is not None:
            query = query.where(f.student_id == student_id)
        if student_ids is not None:
            wanted = sorted(set(student_ids))
            if not wanted:
                return []
            query = query.where(f.student_id.in_(wanted))
        return [_result(r) for r in self.db.query(query.order_by(f.measured_at, f.id))]


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


def _result(r: RowMapping) -> TestResult:
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
        grade=r["grade"],
        class_id=r["class_id"],
    )
