"""A school year's results and screenings as the national platform's upload workbook.

One row per student in the template's columns (gateway/fitness/data/national_template.yaml);
a student missing a required value is left out of the upload sheet and listed, with the row
they would have taken and the column, on a second sheet and to the caller. Rows count the
header as row 1 and follow the school's order (grade, class, student id) over every student,
so a row number names the same student whether or not others were left out.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from gateway.fitness.national_registry import RegistryEntry, RegistryProblem
from gateway.fitness.national_template import EYES, MEASURE_FIELDS, Column, Template
from gateway.fitness.results import FitnessResults, TestResult, current, engine_sex
from gateway.fitness.school_year import CHINA
from gateway.fitness.standard import Standard
from gateway.fitness.values import Term, item_term
from gateway.i18n import N_, Translator, Worded
from gateway.roster import LessonKind, Roster, Student
from gateway.state import StateDB
from gateway.tables.health import vision_screenings
from gateway.tables.roster import classes

REFRACTION: Final = frozenset(f"{w}_{e}" for w in ("sphere", "cylinder", "axis") for e in EYES)
Cell = str | float | int | None


@dataclass(frozen=True)
class Problem:
    """Why a student (or, with no row, the file) is not complete in the upload."""

    row: int | None
    column: str | None  # the sheet's column letter
    header: str | None
    student_id: str | None
    class_name: str | None
    reason: Worded  # worded in the reader's language where shown; str() is English
    left_out: bool  # the student is not in the upload sheet

    @property
    def message(self) -> str:
        return str(self.reason)

    @classmethod
    def about_file(cls, reason: Worded, student_id: str | None = None) -> Problem:
        """A note on the whole file (no row, no column); nobody is left out by it."""
        return cls(None, None, None, student_id, None, reason, False)

    def line(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column} ({self.header})")
        if self.student_id is not None:
            where.append(f"student {self.student_id} ({self.class_name})")
        return (", ".join(where) + ": " if where else "") + self.message

    def words(self, translator: Translator) -> str:
        """`line()` in *translator*'s language."""
        say = translator.gettext
        where = []
        if self.row is not None:
            where.append(say(N_("row {row}")).format(row=self.row))
        if self.column is not None:
            where.append(
                say(N_("column {column} ({header})")).format(column=self.column, header=self.header)
            )
        if self.student_id is not None:
            where.append(
                say(N_("student {student} ({class_name})")).format(
                    student=self.student_id, class_name=self.class_name
                )
            )
        reason = self.reason.words(translator)
        if not where:
            return reason
        return say(N_("{where}: {reason}")).format(where=say(N_(", ")).join(where), reason=reason)


@dataclass
class Export:
    """The upload: header, the complete rows, and the problems found on the way."""

    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def left_out(self) -> int:
        return len({p.student_id for p in self.problems if p.left_out})


def school_year(year: int) -> tuple[datetime, datetime]:
    """School year *year*: from 1 September of *year* to 1 September of the next, China time."""
    return (
        datetime(year, 9, 1, tzinfo=CHINA).astimezone(UTC),
        datetime(year + 1, 9, 1, tzinfo=CHINA).astimezone(UTC),
    )


def _grade_key(grade: str) -> tuple[int, str]:
    return (int(grade), "") if grade.isdigit() else (99, grade)


def class_code(name: str, class_id: str) -> str | None:
    """The class's number within its grade: the last run of digits of its name (三年级2班 -> 2),
    else of its id; None when neither has one."""
    for text in (name, class_id):
        runs = re.findall(r"\d+", text)
        if runs:
            return str(int(runs[-1]))
    return None


def _round(value: Decimal, decimals: int | None) -> Cell:
    if decimals is None:
        return float(value) if value != value.to_integral_value() else int(value)
    rounded = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return int(rounded) if decimals == 0 else float(rounded)


def min_sec(seconds: Decimal) -> str:
    """Seconds as m'ss, the way the standard's tables print endurance times (225 -> 3'45)."""
    whole = int(seconds.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return f"{whole // 60}'{whole % 60:02d}"


def _latest_screenings(
    db: StateDB, school: str, start: datetime, end: datetime
) -> dict[str, dict[str, float | None]]:
    v = vision_screenings.c
    latest: dict[str, tuple[datetime, dict[str, float | None]]] = {}
    for r in db.query(select(vision_screenings).where(v.school == school)):
        at = datetime.fromisoformat(r["at"])
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        if not start <= at < end:
            continue
        held = latest.get(r["student_id"])
        if held is None or at >= held[0]:
            latest[r["student_id"]] = (
                at,
                {f: r[f] for f in (*(f"acuity_{e}" for e in EYES), *REFRACTION)},
            )
    return {student: values for student, (_, values) in latest.items()}


def _school_students(
    db: StateDB, roster: Roster, school: str, class_id: str | None
) -> list[tuple[Student, str, str]]:
    """(student, class name, class id) for every student of the school (or of its one class),
    in the school's order."""
    query = select(classes).where(classes.c.school == school)
    if class_id is not None:
        query = query.where(classes.c.id == class_id)
    rows = db.query(query)
    ordered = sorted(rows, key=lambda c: (_grade_key(c["grade"]), c["name"], c["id"]))
    return [
        (student, c["name"], c["id"])
        for c in ordered
        for student in roster.students_of_class(c["id"])
    ]


def _all_students(roster: Roster, school: str) -> list[Student]:
    return [
        s
        for c in roster.classes()
        if c["school"] == school
        for s in roster.students_of_class(str(c["id"]))
    ]


def with_registry_problems(
    export: Export, problems: list[RegistryProblem], file_name: str | Worded
) -> Export:
    """The registry file's own problems put first, named by its row and column."""
    export.problems[:0] = [
        Problem.about_file(
            Worded(
                N_("{file} row {row}, column {column}: {problem}"),
                file=file_name,
                row=r.row,
                column=r.column,
                problem=r.reason,
            ),
            r.student_id or None,
        )
        for r in problems
    ]
    return export


def build(
    db: StateDB,
    roster: Roster,
    standard: Standard,
    template: Template,
    school: str,
    year: int,
    registry: dict[str, RegistryEntry],
    class_id: str | None = None,
) -> Export:
    """The upload for *school* in school year *year* (see `school_year`), or for its class
    *class_id* alone (whose rows are then numbered within the class's file)."""
    start, end = school_year(year)
    export = Export([c.header for c in template.columns])
    students = _school_students(db, roster, school, class_id)
    class_ids = sorted({class_id for _, _, class_id in students})
    lesson_ids = [
        lesson.id
        for class_id in class_ids
        for lesson in roster.lessons(class_id=class_id)
        if lesson.kind is LessonKind.FITNESS_TEST and start <= lesson.started_at < end
    ]
    if not lesson_ids:
        export.problems.append(
            Problem.about_file(
                Worded(
                    N_(
                        "no fitness test sessions of class {class_id!r} in school year "
                        "{start}-{end}: every item column is empty"
                    )
                    if class_id is not None
                    else N_(
                        "no fitness test sessions of school {school!r} in school year "
                        "{start}-{end}: every item column is empty"
                    ),
                    class_id=class_id,
                    school=school,
                    start=year,
                    end=year + 1,
                )
            )
        )
    latest = current(FitnessResults(db, roster, standard).rows(lesson_ids=lesson_ids))
    screenings = _latest_screenings(db, school, start, end)
    for number, (student, class_name, class_id) in enumerate(students, start=2):
        row, problems = _row(
            template,
            standard,
            student,
            class_name,
            class_id,
            number,
            latest,
            screenings.get(student.id),
            registry.get(student.id),
        )
        export.problems.extend(problems)
        if not any(p.left_out for p in problems):
            export.rows.append(row)
    known = {s.id for s, _, _ in students}
    # A class's file is given the school's registry file: its other classes are not news.
    others = set() if class_id is None else {s.id for s in _all_students(roster, school)}
    for student_id in sorted(set(registry) - known - others):
        export.problems.append(
            Problem(
                None,
                None,
                None,
                student_id,
                None,
                Worded(
                    N_(
                        "registry file names student {student_id!r}, who is not on school "
                        "{school!r}'s roster; ignored"
                    ),
                    student_id=student_id,
                    school=school,
                ),
                False,
            )
        )
    return export


def sex_term(sex: str) -> Term:
    return Term(sex, "男" if sex == "male" else "女")


def _row(
    template: Template,
    standard: Standard,
    student: Student,
    class_name: str,
    class_id: str,
    number: int,
    latest: dict[tuple[str, str], tuple[TestResult, int]],
    screening: dict[str, float | None] | None,
    entry: RegistryEntry | None,
) -> tuple[list[Cell], list[Problem]]:
    takes = {"height_cm", "weight_kg", *standard.items_for(student.grade, engine_sex(student))}
    person: dict[str, Cell] = {
        "grade_code": template.grade_codes.get(student.grade),
        "class_code": class_code(class_name, class_id),
        "class_name": class_name,
        "registry_no": entry.registry_no if entry else None,
        "ethnicity_code": entry.ethnicity_code if entry else None,
        "name": student.name,
        "sex_code": template.sex_codes.get(student.sex),
        "birth_date": student.birth_date.strftime(template.birth_date_format),
        "address": None,
    }
    hints = {
        "grade_code": Worded(
            N_("grade {grade!r} has no code in the template's grade_codes"), grade=student.grade
        ),
        "class_code": Worded(N_("the class's name and id hold no number")),
        "registry_no": Worded(N_("no 学籍号: give it in the registry file (学号,学籍号,民族)")),
        "ethnicity_code": Worded(N_("no 民族: give it in the registry file (学号,学籍号,民族)")),
    }
    row: list[Cell] = []
    problems: list[Problem] = []

    def problem(index: int, column: Column, message: Worded, left_out: bool) -> None:
        problems.append(
            Problem(
                number,
                get_column_letter(index),
                column.header,
                student.id,
                class_name,
                message,
                left_out,
            )
        )

    for index, column in enumerate(template.columns, start=1):
        value: Cell = None
        if column.field in person:
            value = person[column.field]
            if value is None and column.required:
                problem(index, column, hints.get(column.field, Worded(N_("missing"))), True)
        elif column.field in MEASURE_FIELDS:
            held = latest.get((student.id, column.field))
            if column.field not in takes:
                if held is not None:
                    problem(
                        index,
                        column,
                        Worded(
                            N_(
                                "a result for {item} is stored, but grade {grade} {sex} students "
                                "do not take it; left empty"
                            ),
                            item=item_term(column.field),
                            grade=student.grade,
                            sex=sex_term(engine_sex(student)),
                        ),
                        False,
                    )
            elif held is None:
                if column.required:
                    problem(
                        index,
                        column,
                        Worded(
                            N_("no {item} result this school year"), item=item_term(column.field)
                        ),
                        True,
                    )
            else:
                measured = held[0].value
                value = (
                    min_sec(measured)
                    if column.format == "min_sec"
                    else _round(measured, column.decimals)
                )
        elif column.field.startswith("acuity_"):
            acuity = screening.get(column.field) if screening else None
            if acuity is None:
                if column.required:
                    problem(index, column, Worded(N_("no vision screening this school year")), True)
            elif acuity < template.acuity_floor:
                value = template.acuity_below_floor
            else:
                value = _round(Decimal(str(acuity)), column.decimals)
        elif column.field in REFRACTION:
            refraction = screening.get(column.field) if screening else None
            if refraction is None:
                if column.required:
                    problem(
                        index,
                        column,
                        Worded(N_("the screening this school year sent no refraction")),
                        True,
                    )
            else:
                if not column.field.startswith("axis_"):
                    refraction *= template.refraction_scale
                value = _round(Decimal(str(refraction)), column.decimals)
        row.append(value)
    return row, problems


CODE_FIELDS: Final = frozenset(
    {"grade_code", "class_code", "registry_no", "ethnicity_code", "sex_code", "birth_date"}
)
PROBLEM_HEADER: Final = ("行", "列", "列名", "学号", "班级", "问题", "已导出")


def to_xlsx(export: Export, template: Template, translator: Translator | None = None) -> bytes:
    """The workbook: the upload sheet first, then the problems sheet (its reasons in the
    translator's language, else in English)."""
    book = Workbook()
    sheet = book.active
    sheet.title = template.sheet_title
    sheet.append(export.header)
    text_columns = [i for i, c in enumerate(template.columns, start=1) if c.field in CODE_FIELDS]
    for row in export.rows:
        sheet.append(row)
    # Codes and registry numbers are text, or a spreadsheet drops their leading zeros and
    # shows a 19-character registry number in scientific notation.
    for index in text_columns:
        for (cell,) in sheet.iter_rows(
            min_row=2, min_col=index, max_col=index, max_row=sheet.max_row
        ):
            cell.number_format = "@"
            if cell.value is not None:
                cell.value = str(cell.value)
    for index, column in enumerate(template.columns, start=1):
        if column.decimals and column.format == "number":
            fmt = "0." + "0" * column.decimals
            for (cell,) in sheet.iter_rows(
                min_row=2, min_col=index, max_col=index, max_row=sheet.max_row
            ):
                cell.number_format = fmt
    problems = book.create_sheet(template.problems_sheet_title)
    problems.append(list(PROBLEM_HEADER))
    for p in export.problems:
        problems.append(
            [
                p.row,
                p.column,
                p.header,
                p.student_id,
                p.class_name,
                p.reason.words(translator) if translator else p.message,
                _kept(p),
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _kept(problem: Problem) -> str | None:
    if problem.student_id is None or problem.row is None:
        return None
    return "否" if problem.left_out else "是"
