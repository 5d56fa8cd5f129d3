"""Students, classes, lessons and which device a student wears in which lesson (binding)."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import (
    Connection,
    RowMapping,
    bindparam,
    delete,
    exc,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.sql import Executable

from drivers.subject_ids import as_sent
from gateway.i18n import N_, Translator, Worded
from gateway.state import StateDB, serialize, upsert, upsert_rows
from gateway.tables import roster as rt
from gateway.tables.roster import cards, classes, students

# An id a device sends for a student: a gate's card (C-…) or face template (F-…), a
# screener's class-list id (S-…), or another system's card number.
# Rows per statement where a statement names each row (`IN (...)`): well under SQLite's limit
# of 32,766 variables.
SQL_SLICE = 10_000
CARD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
# A roster's columns as Chinese schools head them (the dashboard's template uses the first of
# each); our own ids are taken as well.
ROSTER_HEADERS = {
    "学号": "student_id",
    "姓名": "name",
    "性别": "sex",
    "出生日期": "birth_date",
    "班级编号": "class_id",
    "卡号": "card_id",
}


def split_card_ids(cell: str) -> tuple[str, ...]:
    """The ids of a roster's card_id cell: several may be given, split by spaces or ";"."""
    return tuple(dict.fromkeys(as_sent(part) for part in re.split(r"[;\s]+", cell.strip()) if part))


class LessonKind(StrEnum):
    LESSON = "lesson"
    FITNESS_TEST = "fitness_test"


# What a lesson of each kind is called where a message names one.
KIND_WORDS = {LessonKind.LESSON: N_("lesson"), LessonKind.FITNESS_TEST: N_("fitness test")}


class RosterError(Worded, ValueError):
    """Roster input that cannot be accepted; the message names the row and column."""


class CellProblems(Worded):
    """The problems of a file's cells, each worded on its own: "row 3, column sex: …"."""

    def __init__(self, problems: list[Worded]) -> None:
        Exception.__init__(self, "; ".join(str(p) for p in problems))
        self.message = str(self)
        self.values = {}
        self.problems = problems

    def words(self, translator: Translator) -> str:
        return "; ".join(p.words(translator) for p in self.problems)


class RosterConflict(RosterError):
    """What is being created exists already."""


class UnknownClass(RosterError):
    """A class id that the roster does not hold."""


class DeviceBusy(RosterConflict):
    """A device or student is already taken by a lesson that is still running."""


def sex_letter(raw: str) -> str:
    """A student's sex as stored in the roster, "M" or "F", from M/F/male/female in any case,
    男/女 (as Chinese school rosters write it), or the national sex codes 1/2 (GB/T 2261.1)."""
    text = raw.strip().lower()
    if text in ("m", "male", "男", "1"):
        return "M"
    if text in ("f", "female", "女", "2"):
        return "F"
    raise ValueError(f"sex must be 男/女, M/F, male/female or 1/2, not {raw!r}")


MIXED_ENCODINGS = N_(
    "the file mixes character encodings: line {utf8_line} is UTF-8 but line {other_line} is "
    "not (GBK?); save the whole file again in one encoding"
)


class MixedEncoding(RosterError):
    """A file whose lines are in different character encodings (pasted together)."""


def mixed_lines(data: bytes) -> tuple[int, int] | None:
    """(a line that only UTF-8 reads, a line that UTF-8 cannot read) of a file that is not
    UTF-8 as a whole, or None. A line that GB18030 reads too is no evidence either way: a
    short GBK line is valid UTF-8 by chance about once in a few hundred."""
    utf8_only = other = None
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            other = other or number
            continue
        try:
            line.decode("gb18030")
        except UnicodeDecodeError:
            utf8_only = utf8_only or number
    return (utf8_only, other) if utf8_only and other else None


def decode_csv(data: bytes) -> tuple[str, str]:
    """The text of an uploaded CSV and the encoding it was read with.

    UTF-8 (with or without a byte-order mark) first; when that fails, GB18030, the superset of
    GBK that Excel on Chinese Windows writes for "CSV (comma delimited)". A file that is
    neither is refused rather than guessed at.
    """
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    mixed = mixed_lines(data)
    if mixed is not None:
        raise MixedEncoding(
            MIXED_ENCODINGS,
            utf8_line=mixed[0],
            other_line=mixed[1],
        )
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise RosterError(
            N_(
                "roster CSV is neither UTF-8 nor GBK/GB18030 (undecodable byte at offset "
                '{offset}): save it as UTF-8 — in Excel, File > Save As > "CSV UTF-8 (Comma '
                'delimited) (*.csv)"; in WPS or LibreOffice choose the UTF-8 character set'
            ),
            offset=exc.start,
        ) from None


@dataclass(frozen=True)
class Student:
    id: str
    name: str
    sex: str
    birth_date: date
    class_id: str
    grade: str

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


@dataclass(frozen=True)
class Lesson:
    id: str
    class_id: str
    teacher_id: str
    kind: LessonKind
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class LessonEvent:
    """Something that happened to a lesson (`ended`), at a position of `lesson_events`."""

    position: int
    lesson_id: str
    event: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class Binding:
    """Who wore a device at a given time, and in which lesson."""

    student_id: str
    lesson_id: str


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat()


class Roster:
    def __init__(self, db: StateDB) -> None:
        self.db = db

    # --- classes and students -------------------------------------------------------------
    def add_class(
        self, class_id: str, school: str, name: str, grade: str, pe_teacher_id: str | None = None
    ) -> None:
        """Create or overwrite a class, unchecked (seeding, benches, tests); the API creates
        with `create_class` and changes with `update_class`."""
        with self.db.transaction() as conn:
            upsert(
                conn, classes, _class_row(class_id, school, name, grade, pe_teacher_id), keys=["id"]
            )

    def create_class(
        self, class_id: str, school: str, name: str, grade: str, pe_teacher_id: str | None = None
    ) -> None:
        """A new class; RosterConflict if the id is taken (`add_class` overwrites instead)."""
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    insert(classes).values(_class_row(class_id, school, name, grade, pe_teacher_id))
                )
        except exc.IntegrityError:
            raise RosterConflict(
                N_("class {class_id!r} exists; change it with PATCH /api/classes/{class_id}"),
                class_id=class_id,
            ) from None

    def update_class(self, class_id: str, changes: dict[str, str | None]) -> dict[str, str | None]:
        """Change the given fields of a class (school, name, grade, pe_teacher_id); the others
        keep their values. Returns the class as stored; RosterError for an unknown class."""
        allowed = {"school", "name", "grade", "pe_teacher_id"}
        if set(changes) - allowed:
            raise RosterError(
                N_("cannot change class field(s) {fields}"),
                fields=str(sorted(set(changes) - allowed)),
            )
        with self.db.transaction() as conn:
            if changes:
                conn.execute(update(classes).where(classes.c.id == class_id).values(changes))
            row = conn.execute(select(classes).where(classes.c.id == class_id)).mappings().first()
        if row is None:
            raise RosterError(N_("unknown class {class_id!r}"), class_id=class_id)
        return dict(row)

    def add_student(
        self,
        student_id: str,
        name: str,
        sex: str,
        birth_date: date,
        class_id: str,
        card_id: str | None = None,
    ) -> None:
        try:
            letter = sex_letter(sex)
        except ValueError as exc:
            raise RosterError(
                N_("student {student_id}: {problem}"), student_id=student_id, problem=exc
            ) from None
        with self.db.transaction() as conn:
            self._write_student(
                conn, student_id, name, letter, birth_date, class_id, split_card_ids(card_id or "")
            )

    @staticmethod
    def _write_student(
        conn: Connection,
        student_id: str,
        name: str,
        sex: str,
        birth_date: date,
        class_id: str,
        card_ids: tuple[str, ...],
    ) -> None:
        row = {
            "id": student_id,
            "name": name,
            "sex": sex,
            "birth_date": birth_date.isoformat(),
            "class_id": class_id,
        }
        upsert(conn, students, row, keys=["id"])
        for card_id in card_ids:
            # A card handed on (a lost card re-issued) moves to its new holder.
            _enrol(conn, card_id, student_id)

    def import_csv(self, text: str, schools: Collection[str] | None = None) -> int:
        """Import `student_id,name,sex,birth_date,class_id[,card_id]` rows; returns the count.

        With *schools*, only into classes of those schools, and no row may take over a
        student id or a card of a child of another school (both are keys of their own).

        `card_id` may enrol several ids, separated by spaces or ";" (a gate card, a face
        template and a screener's class-list id of the same child).

        All or nothing: every row is checked first, and a RosterError names each bad row and
        column; only a clean file is written, in one transaction.
        """
        # A spreadsheet's "CSV UTF-8" starts with a byte-order mark that would rename column 1.
        # newline="" leaves line endings to the csv module, which takes \r\n, \n and a bare \r.
        reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
        try:
            if reader.fieldnames is not None:
                reader.fieldnames = [
                    ROSTER_HEADERS.get(name.strip(), name) for name in reader.fieldnames
                ]
            fieldnames, records = reader.fieldnames, list(reader)
        except csv.Error as exc:  # a NUL byte, a stray quote: nothing after it lines up
            raise RosterError(
                N_("roster CSV is not readable as CSV after line {line}: {problem}"),
                line=reader.line_num,
                problem=exc,
            ) from None
        required = ("student_id", "name", "sex", "birth_date", "class_id")
        missing = set(required) - set(fieldnames or [])
        if missing:
            raise RosterError(
                N_("roster CSV is missing column(s): {columns}"), columns=", ".join(sorted(missing))
            )
        in_schools = classes.c.school.in_(sorted(schools)) if schools is not None else None
        known = select(classes.c.id)
        known_classes = {
            r["id"]
            for r in self.db.query(known.where(in_schools) if in_schools is not None else known)
        }
        # Students and cards of other schools' children: not to be overwritten from here.
        foreign_students: set[str] = set()
        foreign_cards: set[str] = set()
        if in_schools is not None:
            elsewhere = select(students.c.id).where(
                students.c.class_id.not_in(select(classes.c.id).where(in_schools))
            )
            foreign_students = {r["id"] for r in self.db.query(elsewhere)}
            held = select(cards.c.card_id).where(cards.c.student_id.in_(elsewhere))
            foreign_cards = {r["card_id"] for r in self.db.query(held)}
        rows: list[tuple[str, str, str, date, str, tuple[str, ...]]] = []
        problems: list[Worded] = []
        seen: dict[str, int] = {}
        cards_seen: dict[str, int] = {}
        for line, row in enumerate(records, start=2):

            def bad(column: str, problem: str, line: int = line, **values: object) -> None:
                problems.append(
                    Worded(
                        N_("row {row}, column {column}: {problem}"),
                        row=line,
                        column=column,
                        problem=Worded(problem, **values),
                    )
                )

            values = {k: (row.get(k) or "").strip() for k in (*required, "card_id")}
            for column in ("student_id", "name"):
                if not values[column]:
                    bad(column, N_("empty"))
            student_id = values["student_id"]
            if student_id in seen:
                bad(
                    "student_id",
                    N_("{value!r} is also on row {other}"),
                    value=student_id,
                    other=seen[student_id],
                )
            elif student_id:
                seen[student_id] = line
            if student_id in foreign_students:
                bad(
                    "student_id",
                    N_("{value!r} is taken (a student of another school)"),
                    value=student_id,
                )
            try:
                sex = sex_letter(values["sex"])
            except ValueError:
                bad(
                    "sex",
                    N_("sex must be 男/女, M/F, male/female or 1/2, not {value!r}"),
                    value=values["sex"],
                )
            try:
                born = date.fromisoformat(values["birth_date"])
            except ValueError:
                bad(
                    "birth_date",
                    N_("{value!r} is not a date like 2014-09-01"),
                    value=values["birth_date"],
                )
            if values["class_id"] not in known_classes:
                bad(
                    "class_id",
                    N_("unknown class {value!r} (create it first with POST /api/classes)"),
                    value=values["class_id"],
                )
            card_ids = split_card_ids(values["card_id"])
            for card_id in card_ids:
                if not CARD_ID.fullmatch(card_id):
                    bad(
                        "card_id",
                        N_(
                            "{value!r} is not an id a device sends (letters, digits "
                            "and - _ . : only, up to 64)"
                        ),
                        value=card_id,
                    )
                elif card_id in foreign_cards:
                    bad(
                        "card_id",
                        N_("{value!r} is enrolled for a student of another school"),
                        value=card_id,
                    )
                elif card_id in cards_seen:
                    bad(
                        "card_id",
                        N_("{value!r} is also enrolled on row {other}"),
                        value=card_id,
                        other=cards_seen[card_id],
                    )
                else:
                    cards_seen[card_id] = line
            if len(problems) == 0:
                rows.append((student_id, values["name"], sex, born, values["class_id"], card_ids))
        if problems:
            raise RosterError(
                N_("roster CSV not imported, {count} problem(s): {problems}"),
                count=len(problems),
                problems=CellProblems(problems),
            )
        with self.db.transaction() as conn:
            # Two statements for the whole file (a school's roster is thousands of rows).
            people = [
                {
                    "id": student_id,
                    "name": name,
                    "sex": sex,
                    "birth_date": born.isoformat(),
                    "class_id": class_id,
                }
                for student_id, name, sex, born, class_id, _ in rows
            ]
            if people:
                conn.execute(upsert_rows(conn, students, list(people[0]), ["id"]), people)
            enrolled = [
                {"card_id": card_id, "student_id": student_id}
                for student_id, *_, card_ids in rows
                for card_id in card_ids
            ]
            if enrolled:
                conn.execute(
                    upsert_rows(conn, cards, ["card_id", "student_id"], ["card_id"]), enrolled
                )
        return len(rows)

    def classes(self) -> list[dict[str, str | int | None]]:
        """Every class with its number of students, by id."""
        size = (
            select(func.count())
            .select_from(students)
            .where(students.c.class_id == classes.c.id)
            .scalar_subquery()
        )
        return [
            dict(r)
            for r in self.db.query(select(classes, size.label("students")).order_by(classes.c.id))
        ]

    def has_school(self, school: str) -> bool:
        """Whether any class of the roster belongs to *school*."""
        return bool(self.db.query(select(classes.c.id).where(classes.c.school == school).limit(1)))

    def class_of(self, class_id: str) -> dict[str, str] | None:
        rows = self.db.query(select(classes).where(classes.c.id == class_id))
        return dict(rows[0]) if rows else None

    def student(self, student_id: str) -> Student | None:
        rows = self.db.query(_STUDENT.where(students.c.id == student_id))
        return _student(rows[0]) if rows else None

    def student_at_school(self, student_id: str) -> tuple[Student, str] | None:
        """A student and the school of their class, in one query."""
        rows = self.db.query(_STUDENT_AT_SCHOOL.where(students.c.id == student_id))
        return (_student(rows[0]), str(rows[0]["class_school"])) if rows else None

    def students_of_class(self, class_id: str) -> list[Student]:
        rows = self.db.query(
            _STUDENT.where(students.c.class_id == class_id).order_by(students.c.id)
        )
        return [_student(r) for r in rows]

    def cards_of(self, student_id: str) -> list[str]:
        """The ids enrolled for a student (cards, face templates, class-list ids)."""
        return [
            str(r["card_id"])
            for r in self.db.query(
                select(cards.c.card_id)
                .where(cards.c.student_id == student_id)
                .order_by(cards.c.card_id)
            )
        ]

    def enrol_card(self, student_id: str, card_id: str) -> None:
        """Enrol one more id for a student; an id enrolled for another student moves here."""
        card_id = as_sent(card_id)
        if not CARD_ID.fullmatch(card_id):
            raise RosterError(
                N_("card_id {card_id!r} is not an id a device sends"), card_id=card_id
            )
        with self.db.transaction() as conn:
            found = conn.execute(select(students.c.id).where(students.c.id == student_id))
            if found.first() is None:
                raise RosterError(N_("unknown student {student_id!r}"), student_id=student_id)
            _enrol(conn, card_id, student_id)

    def withdraw_card(self, card_id: str) -> str | None:
        """Forget an enrolled id (a lost card); returns whose it was, None if unknown."""
        with self.db.transaction() as conn:
            # As given first (an id left in lower case by a clash), then as devices send it.
            holder = conn.execute(_HOLDER, {"card_id": card_id}).scalar()
            if holder is None:
                card_id = as_sent(card_id)
                holder = conn.execute(_HOLDER, {"card_id": card_id}).scalar()
            if holder is None:
                return None
            conn.execute(delete(cards).where(cards.c.card_id == card_id))
            return str(holder)

    def student_for_card(self, card_id: str) -> str | None:
        rows = self.db.query(_HOLDER, {"card_id": card_id})
        return str(rows[0]["student_id"]) if rows else None

    # --- lessons and device assignments ---------------------------------------------------
    def start_lesson(
        self,
        class_id: str,
        teacher_id: str,
        kind: LessonKind,
        assignments: dict[str, str],
        at: datetime | None = None,
        lesson_id: str | None = None,
    ) -> Lesson:
        """Open a lesson and bind devices (device id -> student id) to students for its span."""
        if self.class_of(class_id) is None:
            raise UnknownClass(
                N_("unknown class {class_id!r} (create it first with POST /api/classes)"),
                class_id=class_id,
            )
        lesson = Lesson(
            lesson_id or uuid.uuid4().hex[:12],
            class_id,
            teacher_id,
            kind,
            (at or datetime.now(UTC)).astimezone(UTC),
            None,
        )
        with self.db.transaction() as conn:
            # Checked inside the write transaction, so two lessons started at once cannot both
            # take a band: a device worn in two running lessons would send one child's heart
            # rate to another. On PostgreSQL the named lock makes the check-then-insert one
            # step across gateway workers.
            serialize(conn, "roster.lessons")
            self._check_free(conn, assignments, kind)
            conn.execute(
                insert(rt.lessons).values(
                    id=lesson.id,
                    class_id=class_id,
                    teacher_id=teacher_id,
                    kind=kind.value,
                    started_at=_iso(lesson.started_at),
                )
            )
            if assignments:
                conn.execute(
                    insert(rt.assignments),
                    [
                        {"lesson_id": lesson.id, "device_id": device_id, "student_id": student_id}
                        for device_id, student_id in assignments.items()
                    ],
                )
        return lesson

    @staticmethod
    def _check_free(conn: Connection, wanted: dict[str, str], kind: LessonKind) -> None:
        """DeviceBusy naming the device (or student) and the running lesson that holds it.

        A device is held by any running lesson. A student only by a running lesson of the same
        kind: a fitness test session may run inside a PE lesson (test ropes beside the heart-rate
        bands), but two open lessons of one kind are one forgotten to be ended.
        """
        items = list(wanted.items())
        held: set[tuple[str, str, str, str]] = set()
        a, lesson = rt.assignments.c, rt.lessons.c
        # In slices: SQLite allows 32,766 variables a statement, and a statement holds two per
        # assignment.
        for start in range(0, len(items), SQL_SLICE):
            part = items[start : start + SQL_SLICE]
            held.update(
                (row.device_id, row.student_id, row.id, row.class_id)
                for row in conn.execute(
                    select(a.device_id, a.student_id, lesson.id, lesson.class_id)
                    .join(rt.lessons, lesson.id == a.lesson_id)
                    .where(
                        lesson.ended_at.is_(None),
                        or_(
                            a.device_id.in_([d for d, _ in part]),
                            a.student_id.in_([s for _, s in part]) & (lesson.kind == kind.value),
                        ),
                    )
                )
            )
        problems: list[Worded] = []
        for device_id, student_id, lesson_id, class_id in sorted(held):
            if device_id in wanted:
                problems.append(
                    RosterError(
                        N_(
                            "device {device_id!r} is assigned to student {student_id!r} in "
                            "running lesson {lesson_id!r} (class {class_id!r})"
                        ),
                        device_id=device_id,
                        student_id=student_id,
                        lesson_id=lesson_id,
                        class_id=class_id,
                    )
                )
            else:
                problems.append(
                    RosterError(
                        N_(
                            "student {student_id!r} wears device {device_id!r} in running "
                            "{kind} {lesson_id!r} (class {class_id!r})"
                        ),
                        student_id=student_id,
                        device_id=device_id,
                        kind=Worded(KIND_WORDS[kind]),
                        lesson_id=lesson_id,
                        class_id=class_id,
                    )
                )
        if problems:
            # Each problem worded on its own, so that the page reads them in its language.
            raise DeviceBusy(
                N_("{problems}; end that lesson first (POST /api/lessons/LESSON_ID/end)"),
                problems=CellProblems(problems),
            )

    def end_lesson(self, lesson_id: str, at: datetime | None = None, actor: str = "system") -> bool:
        """End a running lesson (by *actor*) and say so in `lesson_events`; False if it had
        ended already. The roster owns this: whoever follows lessons reads the event."""
        when = _iso(at or datetime.now(UTC))
        with self.db.transaction() as conn:
            ended = conn.execute(
                update(rt.lessons)
                .where(rt.lessons.c.id == lesson_id, rt.lessons.c.ended_at.is_(None))
                .values(ended_at=when)
            )
            if ended.rowcount == 0:
                return False
            conn.execute(
                insert(rt.lesson_events).values(
                    lesson_id=lesson_id, event="ended", actor=actor, at=when
                )
            )
        return True

    def lesson_events(self, after: int, limit: int = 500) -> list[LessonEvent]:
        """Lesson events after position *after*, oldest first."""
        e = rt.lesson_events
        rows = self.db.query(
            select(e).where(e.c.position > after).order_by(e.c.position).limit(limit)
        )
        return [
            LessonEvent(
                int(r["position"]),
                r["lesson_id"],
                r["event"],
                r["actor"],
                datetime.fromisoformat(r["at"]),
            )
            for r in rows
        ]

    def lesson(self, lesson_id: str) -> Lesson | None:
        rows = self.db.query(select(rt.lessons).where(rt.lessons.c.id == lesson_id))
        return self._lesson(rows[0]) if rows else None

    def lessons(
        self,
        *,
        class_id: str | None = None,
        teacher_id: str | None = None,
        active_only: bool = False,
    ) -> list[Lesson]:
        query = select(rt.lessons)
        if class_id:
            query = query.where(rt.lessons.c.class_id == class_id)
        if teacher_id:
            query = query.where(rt.lessons.c.teacher_id == teacher_id)
        if active_only:
            query = query.where(rt.lessons.c.ended_at.is_(None))
        # id breaks ties of one start time, so that both databases list in one order.
        query = query.order_by(rt.lessons.c.started_at, rt.lessons.c.id)
        return [self._lesson(r) for r in self.db.query(query)]

    def assignments(self, lesson_id: str) -> dict[str, str]:
        return {
            r["device_id"]: r["student_id"]
            for r in self.db.query(
                select(rt.assignments.c.device_id, rt.assignments.c.student_id).where(
                    rt.assignments.c.lesson_id == lesson_id
                )
            )
        }

    def assignments_open_since(self, at: datetime) -> list[tuple[str, str, Binding, Lesson]]:
        """(device id, school, binding, lesson) for every lesson not ended before *at*, in one
        query; `gateway.binding` decides which of them binds a message."""
        return self._assignments(_OPEN_SINCE, {"since": _iso(at)})

    def assignments_of_device(self, device_id: str) -> list[tuple[str, str, Binding, Lesson]]:
        """(device id, school, binding, lesson) for every lesson that ever assigned *device_id*."""
        return self._assignments(_OF_DEVICE, {"device_id": device_id})

    def _assignments(
        self, query: Executable, params: dict[str, str]
    ) -> list[tuple[str, str, Binding, Lesson]]:
        rows = self.db.query(query, params)
        lessons: dict[str, Lesson] = {}  # parsed once per lesson, not once per device
        out = []
        for r in rows:
            lesson = lessons.get(r["id"]) or lessons.setdefault(r["id"], self._lesson(r))
            out.append(
                (r["device_id"], r["class_school"], Binding(r["student_id"], r["id"]), lesson)
            )
        return out

    @staticmethod
    def _lesson(row: RowMapping) -> Lesson:
        return Lesson(
            row["id"],
            row["class_id"],
            row["teacher_id"],
            LessonKind(row["kind"]),
            datetime.fromisoformat(row["started_at"]),
            datetime.fromisoformat(row["ended_at"]) if row["ended_at"] else None,
        )


def _class_row(
    class_id: str, school: str, name: str, grade: str, pe_teacher_id: str | None
) -> dict[str, str | None]:
    return {
        "id": class_id,
        "school": school,
        "name": name,
        "grade": grade,
        "pe_teacher_id": pe_teacher_id,
    }


def _enrol(conn: Connection, card_id: str, student_id: str) -> None:
    """Enrol *card_id* for *student_id*, taking it from whoever held it."""
    upsert(conn, cards, {"card_id": card_id, "student_id": student_id}, keys=["card_id"])


# Built once: run for every batch that ingest commits.
_ASSIGNED = (
    select(
        rt.assignments.c.device_id,
        rt.assignments.c.student_id,
        classes.c.school.label("class_school"),
        rt.lessons,
    )
    .join(rt.lessons, rt.lessons.c.id == rt.assignments.c.lesson_id)
    .join(classes, classes.c.id == rt.lessons.c.class_id)
)
_OPEN_SINCE = _ASSIGNED.where(
    or_(rt.lessons.c.ended_at.is_(None), rt.lessons.c.ended_at >= bindparam("since"))
)
_OF_DEVICE = _ASSIGNED.where(rt.assignments.c.device_id == bindparam("device_id"))
_STUDENT = select(students, classes.c.grade).join(classes, classes.c.id == students.c.class_id)
_STUDENT_AT_SCHOOL = select(students, classes.c.grade, classes.c.school.label("class_school")).join(
    classes, classes.c.id == students.c.class_id
)
_HOLDER = select(cards.c.student_id).where(cards.c.card_id == bindparam("card_id"))


def _student(r: RowMapping) -> Student:
    return Student(
        r["id"], r["name"], r["sex"], date.fromisoformat(r["birth_date"]), r["class_id"], r["grade"]
    )
