"""Builders for alert- and health-test inputs: a school roster and stored messages made by hand."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import insert

from campusedge.contract import DeviceState, Status, TimeQuality
from campusedge.topics import DeviceKind
from gateway.alerts.clock import ManualClock
from gateway.alerts.config import AlertConfigs, SchoolAlertConfig
from gateway.alerts.engine import AlertEngine
from gateway.alerts.notification import Notification
from gateway.binding import Binder
from gateway.devices import Devices
from gateway.health.absences import Absences
from gateway.health.referrals import Referrals
from gateway.health.screenings import Screenings
from gateway.ingest import CommittedBatch
from gateway.roster import Roster
from gateway.state import StateDB
from gateway.store.base import StoredMessage
from gateway.tables.roster import cards
from gateway.tables.roster import students as students_table

SCHOOL = "sch1"
# Tuesday 2026-09-01, 08:00 in Asia/Shanghai: a school morning.
MORNING = datetime(2026, 9, 1, 0, 0, tzinfo=UTC)
_seq = itertools.count(1)


class Collected:
    """A channel that keeps what it is given, to look at what the engine sent."""

    def __init__(self) -> None:
        self.notifications: list[Notification] = []

    def send(self, notification: Notification) -> None:
        self.notifications.append(notification)

    def close(self) -> None:
        pass

    def alert_ids(self) -> list[int]:
        return [a.id for n in self.notifications for a in n.alerts]


@dataclass
class World:
    db: StateDB
    roster: Roster
    devices: Devices
    clock: ManualClock
    configs: AlertConfigs
    engine: AlertEngine
    out: Collected
    referrals: Referrals
    absences: Absences
    screenings: Screenings
    students: list[str] = field(default_factory=list)

    def feed(self, committed: CommittedBatch) -> None:
        """What the alert and health consumers are handed: the messages bound as ingest binds
        them, through the engine's rules, and the screenings into the health records."""
        committed = bound(self.roster, committed)
        self.engine.on_batch(committed)
        for message in committed.messages:
            self.screenings.record(message)


def build_world(
    tmp: Path | str, config: SchoolAlertConfig | None = None, students_per_class: int = 30
) -> World:
    # A folder (a SQLite file in it), or a state database's path or URL (the state_url fixture).
    db = StateDB(tmp / "state.db" if isinstance(tmp, Path) else tmp)
    roster = Roster(db)
    devices = Devices(db)
    roster.add_class("c1", SCHOOL, "Grade 7 class 1", "7", pe_teacher_id="t1")
    roster.add_class("c2", SCHOOL, "Grade 7 class 2", "7", pe_teacher_id="t2")
    roster.add_class("k1", SCHOOL, "Kindergarten", "0")
    students = [f"{c}s{i:02d}" for c in ("c1", "c2") for i in range(students_per_class)]
    # One transaction for the whole roster: Roster.add_student commits per student, which
    # costs seconds for a school's worth of children on a slow disk.
    with db.transaction() as conn:
        conn.execute(
            insert(students_table),
            [
                {
                    "id": sid,
                    "name": f"Name {sid}",
                    "sex": "MF"[i % 2],
                    "birth_date": "2014-03-01",
                    "class_id": sid[:2],
                }
                for i, sid in enumerate(students)
            ],
        )
        conn.execute(
            insert(cards), [{"card_id": f"card-{sid}", "student_id": sid} for sid in students]
        )
    roster.add_student("k1s00", "Little One", "F", date(2022, 1, 1), "k1", card_id="card-k1s00")
    clock = ManualClock(MORNING)
    configs = AlertConfigs(overrides={SCHOOL: config} if config else None)
    out = Collected()
    absences = Absences(db)
    engine = AlertEngine(
        db, roster, devices, configs, channels=[out], clock=clock, absences=absences
    )
    referrals = Referrals(db)
    screenings = Screenings(referrals, roster, lambda s: configs.for_school(s).vision)
    return World(
        db, roster, devices, clock, configs, engine, out, referrals, absences, screenings, students
    )


def gate_pass(
    card: str,
    temperature: float,
    at: datetime,
    site: str = "forehead",
    device: str = "gate-1",
    seq: int | None = None,
) -> StoredMessage:
    return StoredMessage(
        school=SCHOOL,
        kind=DeviceKind.TEMP_GATE,
        device_id=device,
        seq=next(_seq) if seq is None else seq,
        ts=at,
        time_quality=TimeQuality.SYNCED,
        received_at=at,
        readings=(("body_temperature", temperature, "degC"), ("ambient_temperature", 24.0, "degC")),
        event_type="gate_pass",
        attributes=(
            ("decision", "pass"),
            ("id_type", "card"),
            ("site", site),
            ("subject_id", card),
        ),
    )


def heart_rate(device: str, bpm: float, at: datetime) -> StoredMessage:
    return StoredMessage(
        school=SCHOOL,
        kind=DeviceKind.HR_BAND,
        device_id=device,
        seq=next(_seq),
        ts=at,
        time_quality=TimeQuality.SYNCED,
        received_at=at,
        readings=(("heart_rate", bpm, "bpm"),),
    )


def screening(
    card: str,
    at: datetime,
    left: float,
    right: float,
    se_left: float = 0.0,
    se_right: float = 0.0,
    device: str = "screener-1",
) -> StoredMessage:
    return StoredMessage(
        school=SCHOOL,
        kind=DeviceKind.VISION_SCREENER,
        device_id=device,
        seq=next(_seq),
        ts=at,
        time_quality=TimeQuality.SYNCED,
        received_at=at,
        readings=(
            ("acuity_uncorrected_left", left, "acuity_5pt"),
            ("acuity_uncorrected_right", right, "acuity_5pt"),
            ("spherical_equivalent_left", se_left, "D"),
            ("spherical_equivalent_right", se_right, "D"),
        ),
        event_type="vision_screening",
        attributes=(("subject_id", card),),
    )


def device_reading(device: str, kind: DeviceKind, at: datetime, **values: float) -> StoredMessage:
    units = {"battery": "%", "clock_offset": "s"}
    return StoredMessage(
        school=SCHOOL,
        kind=kind,
        device_id=device,
        seq=next(_seq),
        ts=at,
        time_quality=TimeQuality.SYNCED,
        received_at=at,
        readings=tuple((m, v, units[m]) for m, v in values.items()),
    )


def status(
    device: str,
    state: DeviceState,
    at: datetime,
    kind: DeviceKind = DeviceKind.TEMP_GATE,
    battery: float | None = None,
) -> tuple[str, Status]:
    return SCHOOL, Status(device_id=device, kind=kind, state=state, ts=at, battery_pct=battery)


def batch(
    *messages: StoredMessage, statuses: list[tuple[str, Status]] | None = None
) -> CommittedBatch:
    return CommittedBatch(messages=list(messages), statuses=statuses or [])


def bound(roster: Roster, committed: CommittedBatch) -> CommittedBatch:
    """*committed* with its messages bound to students and lessons, as ingest stores them."""
    return CommittedBatch(
        messages=Binder(roster).bind_messages(committed.messages),
        statuses=committed.statuses,
        dead_letters=committed.dead_letters,
    )
