"""A student's erasure from the state, retention of students' data, and `student forget`."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import func, insert, select

from gateway.alerts.clock import ManualClock
from gateway.alerts.lifecycle import Lifecycle
from gateway.alerts.model import Candidate, Rule, Severity
from gateway.audit import AuditLog
from gateway.auth import Role, User
from gateway.fitness.results import FitnessResults, NewResult
from gateway.privacy.forget import forget_in_state
from gateway.retention import RetentionSettings, RetentionSweep
from gateway.roster import LessonKind, Roster
from gateway.state import StateDB
from gateway.store.sqlite import SqliteStore
from gateway.tables import metadata
from gateway.tables.health import absences, referrals, vision_screenings
from gateway.tables.people import audit_log
from tests.gateway.store.conftest import message

AT = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
NURSE = User("nurse", "School nurse", Role.HEALTH_STAFF)


def seed(db: StateDB, at: datetime = AT) -> None:
    """Two students of one class, each with a card, a band in a fitness test, a result, a
    fever alert, a vision screening with a referral, an absence and audited reads."""
    roster = Roster(db)
    roster.add_class("c1", "sch1", "Class 1", "3")
    for n in (1, 2):
        roster.add_student(f"s{n}", f"Student {n}", "F", date(2016, 1, n), "c1", f"CARD{n}")
    lesson = roster.start_lesson(
        "c1", "t1", LessonKind.FITNESS_TEST, {"rope-1": "s1", "rope-2": "s2"}, at=at
    )
    FitnessResults(db, roster).record(
        [
            NewResult(lesson.id, f"s{n}", "rope_skip_1min", 120 + n, at, "staff", entered_by="t1")
            for n in (1, 2)
        ]
    )
    lifecycle = Lifecycle(db, ManualClock(at))
    for n in (1, 2):
        lifecycle.raise_(
            Candidate(
                rule=Rule.FEVER,
                key=f"fever:sch1:s{n}",
                school="sch1",
                severity=Severity.WARNING,
                at=at,
                summary="fever",
                student_id=f"s{n}",
                source=("gate-1", n),
            )
        )
    with db.transaction() as conn:
        for n in (1, 2):
            conn.execute(
                insert(vision_screenings).values(
                    device_id="vs-1", seq=n, school="sch1", student_id=f"s{n}", at=at.isoformat()
                )
            )
            conn.execute(
                insert(referrals).values(
                    school="sch1",
                    student_id=f"s{n}",
                    class_id="c1",
                    screened_at=at.isoformat(),
                    device_id="vs-1",
                    seq=n,
                    findings="[]",
                )
            )
            conn.execute(
                insert(absences).values(
                    school="sch1",
                    day=at.date().isoformat(),
                    student_id=f"s{n}",
                    class_id="c1",
                    reason="illness",
                    symptoms="fever",
                    recorded_by="nurse",
                    recorded_at=at.isoformat(),
                )
            )
    AuditLog(db).record_many(
        NURSE, "read_alert", [("student", f"s{n}", "alert") for n in (1, 2)], at=at
    )


def rows_naming(db: StateDB, student_id: str) -> dict[str, int]:
    found = {}
    with db.transaction() as conn:
        for table in metadata.sorted_tables:
            for column in ("student_id", "subject_id"):
                if column in table.c:
                    n = conn.execute(
                        select(func.count()).where(table.c[column] == student_id)
                    ).scalar_one()
                    if n:
                        found[f"{table.name}.{column}"] = n
        n = conn.execute(
            select(func.count())
            .select_from(metadata.tables["students"])
            .where(metadata.tables["students"].c.id == student_id)
        ).scalar_one()
    if n:
        found["students.id"] = n
    return found


def test_forgetting_a_student_leaves_no_row_that_names_them_and_keeps_the_others(
    state_url: str,
) -> None:
    db = StateDB(state_url)
    try:
        seed(db)
        before_s2 = rows_naming(db, "s2")
        assert rows_naming(db, "s1") == before_s2  # seeded alike

        done = forget_in_state(db, "s1", User("cli:root", "command line", Role.CAMPUS_IT))

        assert rows_naming(db, "s1") == {}
        assert rows_naming(db, "s2") == before_s2
        assert done.removed["students"] == 1
        assert done.removed["fitness_results"] == 1
        assert done.removed["alerts"] == 1 and done.removed["alert_events"] >= 1
        with db.transaction() as conn:
            entries = conn.execute(
                select(audit_log.c.action, audit_log.c.subject_id).where(
                    audit_log.c.subject_id == done.pseudonym
                )
            ).all()
        # The nurse's read is still in the log, under the pseudonym, and so is the erasure.
        assert sorted(e.action for e in entries) == ["forget_student", "read_alert"]
        assert forget_in_state(db, "s1", NURSE).found is False
    finally:
        db.close()


def test_the_sweep_removes_students_data_past_retention_and_records_counts(
    state_url: str, tmp_path: Path
) -> None:
    db = StateDB(state_url)
    store = SqliteStore(tmp_path / "readings.db")
    try:
        old = AT - timedelta(days=7 * 365)
        seed(db, at=old)
        with db.transaction() as conn:
            conn.execute(
                metadata.tables["alerts"]
                .update()
                .values(state="resolved", resolved_at=old.isoformat())
            )
        store.write([message("hr-01", 1, ts=old), message("hr-01", 2, ts=AT)])
        sweep = RetentionSweep(
            RetentionSettings(), store, None, None, CollectorRegistry(), now=lambda: AT, db=db
        )

        done = sweep.sweep()

        assert done["raw_readings"] == 1 and store.count_messages() == 1
        assert done["health_alerts"] == 2 + 2  # two resolved alerts, two absences
        assert done["vision_records"] == 2 + 2
        assert done["fitness_results"] == 2
        assert done["audit_log"] == 2
        with db.transaction() as conn:
            recorded = conn.execute(
                select(audit_log.c.subject_id, audit_log.c.detail).where(
                    audit_log.c.action == "retention_purge"
                )
            ).all()
        assert {r.subject_id for r in recorded} == {
            "raw_readings",
            "health_alerts",
            "vision_records",
            "fitness_results",
            "audit_log",
        }
        assert sweep.sweep()["fitness_results"] == 0  # nothing left to remove
    finally:
        store.close()
        db.close()


def test_the_command_forgets_a_student_in_state_readings_and_commit_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")  # the command's words, read below
    state = tmp_path / "state.db"
    readings = tmp_path / "readings.db"
    db = StateDB(str(state))
    seed(db)
    db.close()
    store = SqliteStore(readings)
    mine = [dataclasses.replace(message("rope-1", n), student_id="s1") for n in (1, 2)]
    store.write([*mine, message("rope-2", 1)])
    store.close()
    command = [sys.executable, "-m", "campusedge.cli", "student", "forget", "s1"]
    where = ["--state-db", str(state), "--db", str(readings)]

    dry = subprocess.run(command + where, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 2 and "--yes" in dry.stdout

    done = subprocess.run(command + where + ["--yes"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "forgot student 's1'" in done.stdout and "2 readings store: messages" in done.stdout

    db = StateDB(str(state))
    try:
        assert rows_naming(db, "s1") == {}
    finally:
        db.close()
    store = SqliteStore(readings)
    try:
        assert store.count_messages() == 1
    finally:
        store.close()
    again = subprocess.run(command + where + ["--yes"], capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "nothing removed" in again.stdout
