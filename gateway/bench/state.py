"""`campusedge bench state`: the state database's hot paths timed on SQLite and PostgreSQL.

Each path runs on a fresh SQLite file and, with `--postgresql URL`, on an empty PostgreSQL
database in the same run: a roster import of a school's students, the reads behind the live
lesson view, the alert list, and alerts raised and acknowledged.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import inspect

from campusedge.words import error_line, error_text
from gateway.alerts.clock import ManualClock
from gateway.alerts.lifecycle import Lifecycle
from gateway.alerts.model import Candidate, Rule, Severity
from gateway.cli.language import gettext as _
from gateway.roster import LessonKind, Roster
from gateway.state import StateDB, StateDBError

SCHOOL = "sch-bench"
AT = datetime(2026, 9, 1, 0, 30, tzinfo=UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--postgresql",
        metavar="URL",
        help="an empty PostgreSQL database to time as well (postgresql://user:pass@host/db); "
        "the bench fills it",
    )
    parser.add_argument("--students", type=int, default=2000, help="students in the import")
    parser.add_argument("--repeat", type=int, default=50, help="times each read is timed")
    parser.add_argument("--json", action="store_true", help="print only the JSON result")


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
    }


def _timed(repeat: int, step: Callable[[int], object]) -> dict[str, float]:
    samples = []
    for i in range(repeat):
        start = time.perf_counter()
        step(i)
        samples.append(time.perf_counter() - start)
    return _ms(samples)


def roster_csv(students: int, classes: int) -> str:
    rows = ["student_id,name,sex,birth_date,class_id,card_id"]
    rows += [
        f"b{i:05d},Student {i},{'MF'[i % 2]},2013-0{1 + i % 9}-1{i % 10},bc{i % classes:02d},"
        f"C-{0xB0000000 + i:08X}"
        for i in range(students)
    ]
    return "\n".join(rows) + "\n"


def run_paths(db: StateDB, students: int, repeat: int) -> dict[str, Any]:
    """The hot paths on *db*, which must be empty (freshly migrated)."""
    roster = Roster(db)
    classes = max(1, students // 40)
    for c in range(classes):
        roster.add_class(f"bc{c:02d}", SCHOOL, f"Bench class {c}", "7")
    text = roster_csv(students, classes)
    start = time.perf_counter()
    roster.import_csv(text)
    imported = time.perf_counter() - start
    start = time.perf_counter()
    roster.import_csv(text)  # a re-import updates every row
    reimported = time.perf_counter() - start

    members = roster.students_of_class("bc00")
    lesson = roster.start_lesson(
        "bc00",
        "t1",
        LessonKind.LESSON,
        {f"band-{n:02d}": s.id for n, s in enumerate(members)},
        at=AT,
    )

    def live_view(_: int) -> object:
        # What the live lesson view reads from the state: the lesson, who wears what, the class.
        return (
            roster.lesson(lesson.id),
            roster.assignments(lesson.id),
            roster.students_of_class(lesson.class_id),
        )

    lifecycle = Lifecycle(db, ManualClock(AT))

    def raise_fever(i: int) -> object:
        return lifecycle.raise_(
            Candidate(
                rule=Rule.FEVER,
                key=f"fever:{SCHOOL}:b{i:05d}",
                school=SCHOOL,
                severity=Severity.WARNING,
                at=AT + timedelta(seconds=i),
                summary="fever 38.4 °C",
                student_id=f"b{i:05d}",
                device_id="gate-1",
                detail={"max_value": 38.4},
                source=("gate-1", i),
            )
        )

    raised = _timed(max(repeat, 500), raise_fever)
    acknowledged = _timed(repeat, lambda i: lifecycle.acknowledge(i + 1, "nurse1"))
    return {
        "roster_import_ms": round(imported * 1000, 1),
        "roster_reimport_ms": round(reimported * 1000, 1),
        "students": students,
        "live_lesson_view": _timed(repeat, live_view),
        "alert_raise": raised,
        "alert_acknowledge": acknowledged,
        "alert_list_500": _timed(repeat, lambda _: lifecycle.find(school=SCHOOL, limit=500)),
    }


def run(args: argparse.Namespace) -> int:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = StateDB(Path(tmp) / "state.db")
        try:
            results["sqlite"] = run_paths(db, args.students, args.repeat)
        finally:
            db.close()
    if args.postgresql:
        try:
            db = StateDB(args.postgresql, migrate=False)
        except StateDBError as exc:
            print(error_line("campusedge bench state", error_text(exc)), file=sys.stderr)
            return 2
        try:
            if inspect(db.engine).get_table_names():
                print(
                    _("{prog}: {database} is not empty; give an empty database").format(
                        prog="campusedge bench state", database=db.where
                    ),
                    file=sys.stderr,
                )
                return 2
            db.close()
            db = StateDB(args.postgresql)
            results["postgresql"] = run_paths(db, args.students, args.repeat)
        finally:
            db.close()
    if args.json:
        print(json.dumps(results))
    else:
        for backend, figures in results.items():
            print(f"{backend}:")
            for name, value in figures.items():
                print(f"  {name}: {value}")
    return 0
