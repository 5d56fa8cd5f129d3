"""Write state_before_revisions.sql: a state file made by the release before schema revisions.

Run it with that release's code on the path, never with the current one, e.g.

    git archive 00acedc campusedge drivers gateway | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old .venv/bin/python tests/gateway/data/make_state_before_revisions.py

It opens every module of that release on a new SQLite file (each creates its tables), writes
rows through their own methods, and dumps the file as SQL text (smaller than the file and
readable in a review). tests/gateway/test_migrations.py loads it and upgrades it.
"""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from campusedge.contract import DeviceState, Status
from campusedge.topics import DeviceKind
from gateway.alerts.clock import ManualClock
from gateway.alerts.delivery.log import DeliveryLog
from gateway.alerts.delivery.outbox import WebhookOutbox
from gateway.alerts.lifecycle import Lifecycle
from gateway.alerts.model import Candidate, Rule, Severity
from gateway.alerts.referrals import Referrals
from gateway.alerts.rules.vision import Screening
from gateway.alerts.rules.warning_level import WarningLevels
from gateway.audit import AuditLog
from gateway.auth import Role, Users
from gateway.devices import Devices
from gateway.fitness.results import FitnessResults, NewResult
from gateway.roster import LessonKind, Roster
from gateway.state import StateDB

OUT = Path(__file__).with_name("state_before_revisions.sql")
AT = datetime(2026, 9, 1, 0, 30, tzinfo=UTC)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.db"
        db = StateDB(path)
        users, audit = Users(db), AuditLog(db)
        users.create("nurse1", "Nurse Li", Role.HEALTH_STAFF)
        users.create("t1", "Teacher Wang", Role.PE_TEACHER)
        audit.record(users.get("nurse1"), "read", "student", "s1", at=AT)  # type: ignore[arg-type]
        roster = Roster(db)
        roster.add_class("c1", "sch1", "Grade 7 class 1", "7", pe_teacher_id="t1")
        roster.add_student("s1", "Zhang San", "M", date(2013, 3, 1), "c1", card_id="C-00A1")
        roster.add_student("s2", "Li Si", "F", date(2013, 5, 2), "c1", card_id="C-00B2")
        lesson = roster.start_lesson("c1", "t1", LessonKind.LESSON, {"band-01": "s1"}, at=AT)
        test = roster.start_lesson(
            "c1", "t1", LessonKind.FITNESS_TEST, {"rope-01": "s2"}, at=AT, lesson_id="test1"
        )
        roster.end_lesson(lesson.id, at=AT + timedelta(minutes=40))
        devices = Devices(db)
        devices.apply(
            [
                (
                    "sch1",
                    Status(
                        device_id="band-01",
                        kind=DeviceKind.HR_BAND,
                        state=DeviceState.ONLINE,
                        ts=AT,
                        firmware="1.2.0",
                        battery_pct=87.5,
                    ),
                    AT,
                )
            ],
            [("sch1", "band-01", "hr_band", AT, 12)],
        )
        lifecycle = Lifecycle(db, ManualClock(AT))
        fever = lifecycle.raise_(
            Candidate(
                rule=Rule.FEVER,
                key="fever:sch1:s1",
                school="sch1",
                severity=Severity.WARNING,
                at=AT,
                summary="fever 38.2 °C at gate-1",
                student_id="s1",
                class_id="c1",
                device_id="gate-1",
                detail={"max_value": 38.2},
                source=("gate-1", 7),
            )
        )
        lifecycle.acknowledge(fever.alert.id, "nurse1", "seen")
        lifecycle.add_silence(
            "sch1", AT, AT + timedelta(hours=2), "it1", "maintenance", device_id="gate-2"
        )
        Referrals(db).record(
            "sch1",
            "s2",
            "c1",
            AT,
            "screener-1",
            3,
            Screening({"left": 4.6, "right": 4.8}, {"left": -1.25, "right": -0.5}),
            [{"eye": "left", "grade": "moderate"}],
        )
        DeliveryLog(db).record("n1", "webhook", "dingtalk", 1, "delivered", [fever.alert.id], 200)
        WebhookOutbox(db).add("dingtalk", "n2", [fever.alert.id], {"text": "fever"}, 100)
        levels = WarningLevels(db)
        levels.record_absence("sch1", AT.date(), "s2", "c1", "illness", "cough", "t1", AT)
        recorded = FitnessResults(db, roster).record(
            [
                NewResult(test.id, "s2", "height_cm", "158.5", AT, "device", "rope-01", 9),
                NewResult(test.id, "s2", "weight_kg", "47.2", AT, "staff", entered_by="t1"),
            ]
        )
        assert not [r for r in recorded if isinstance(r, Exception)], recorded
        db.close()
        with sqlite3.connect(path) as conn:
            OUT.write_text("\n".join(conn.iterdump()) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
