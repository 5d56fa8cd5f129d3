"""Two schools on one gateway, each with a lesson, alerts, a referral, a device and a card.

The route x role matrix (SQLite state) and the OpenAPI fuzz run (PostgreSQL) build one of these
per test module: `World` names the ids of one school, so that a request can be made with this
school's ids, the other school's, or ids that exist nowhere.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from campusedge.contract import DeviceState, Status, TimeQuality
from campusedge.topics import DeviceKind
from gateway.alerts.model import Candidate, Rule, Severity
from gateway.api.app import create_app
from gateway.auth import Role
from gateway.competition.anti_cheat import Hold, Participant
from gateway.fitness.results import NewResult, ResultError
from gateway.health.vision import Screening
from gateway.roster import LessonKind
from gateway.service import Gateway
from gateway.store.base import StoredMessage
from tests.gateway.api.conftest import SCHOOL, Campus, build_campus, populate
from tests.gateway.competition.conftest import one_school_cup, store_set

OTHER = "sch2"
DISTRICT = "D1"
AT = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
# What only the other school holds: none of it may show in an answer to this school's users.
# A model file in the gateway's model folder: bytes of no real model, a signature-shaped value.
PROBE_MODEL = "probe.onnx"
PROBE_BYTES = b"not a real model"
PROBE_SHA256 = hashlib.sha256(PROBE_BYTES).hexdigest()
PROBE_SIGNATURE = base64.b64encode(bytes(64)).decode()

OTHER_SECRETS = ("孙九十", "s90", "hr-90", "C-0090", "Teacher Nine", OTHER)


@dataclass(frozen=True)
class World:
    """The ids a request names, of one school (or of none: `UNKNOWN`)."""

    school: str
    lesson: str  # a fitness_test session of the class below, opened by its PE teacher
    class_id: str
    student: str
    device_alert: int
    fever_alert: int
    referral: int
    silence: int
    device: str
    card: str
    competition: str  # a competition of this school alone, with a ranked and a held set
    held_result: int
    user: str  # a user campus IT manage (a PE teacher of the school)
    gone_user: str  # one campus IT revoke (once)
    box: str  # an enrolled edge box
    push_device: str  # a temperature gate that posts over HTTP with its push token


UNKNOWN = World(
    school="sch404",
    lesson="l404",
    class_id="c404",
    student="s404",
    device_alert=90_001,
    fever_alert=90_002,
    referral=90_003,
    silence=90_004,
    device="hr-404",
    card="C-0404",
    competition="cup-c404",
    held_result=90_005,
    user="u404",
    gone_user="gone404",
    box="box-404",
    push_device="tg-404",
)


@dataclass
class TwoSchools:
    campus: Campus
    own: World  # of SCHOOL, the school of the users t1, h1, it1, au1
    other: World  # of OTHER
    push_tokens: dict[str, str]  # school -> the push token of its world's push_device


def _reading(school: str, device_id: str, metric: str, value: float, unit: str) -> StoredMessage:
    return StoredMessage(
        school=school,
        kind=DeviceKind.HR_BAND,
        device_id=device_id,
        seq=1,
        ts=AT,
        time_quality=TimeQuality.SYNCED,
        received_at=AT,
        readings=((metric, value, unit),),
    )


def _school(
    gw: Gateway, school: str, class_id: str, teacher: str, student: str, seq: int, user: str
) -> World:
    """A fitness session with a result, a fever and a device alert, a referral, a silence,
    a device with a battery reading, an enrolled card, a user to revoke and an enrolled edge
    box, all of *school*."""
    assert gw.alerts is not None and gw.referrals is not None
    # Opened 40 minutes ago: a lesson report covers at most a few hours of an open lesson.
    opened = datetime.now(UTC) - timedelta(minutes=40)
    lesson = gw.roster.start_lesson(class_id, teacher, LessonKind.FITNESS_TEST, {}, at=opened)
    [result] = gw.fitness_results.record(
        [NewResult(lesson.id, student, "sit_and_reach", 12, opened, "staff", entered_by=teacher)]
    )
    assert not isinstance(result, ResultError), result
    alerts = {}
    for rule, subject in ((Rule.DEVICE_OFFLINE, None), (Rule.FEVER, student)):
        alerts[rule] = gw.alerts.engine.lifecycle.raise_(
            Candidate(
                rule=rule,
                key=f"{school}-{rule.value}",
                school=school,
                severity=Severity.WARNING,
                at=AT,
                summary=f"{rule.value} in {school}",
                student_id=subject,
                device_id=f"dev-{school}",
            )
        ).alert
    screening = Screening({"left": 4.6, "right": 4.7}, {"left": -1.5, "right": -1.0})
    referral = gw.referrals.record(
        school, student, class_id, AT, "vs-1", seq, screening, [{"eye": "left", "grade": "mild"}]
    )
    assert referral is not None
    silence = gw.alerts.add_silence(
        school, AT, AT + timedelta(days=3650), teacher, "maintenance", Rule.DEVICE_OFFLINE
    )
    device = f"hr-{class_id}"
    status = Status(device_id=device, kind=DeviceKind.HR_BAND, state=DeviceState.ONLINE)
    gw.devices.apply([(school, status, AT)], [])
    gw.store.write([_reading(school, device, "battery", 80.0, "%")])
    card = f"C-{class_id.upper()}00"
    gw.roster.enrol_card(student, card)
    gw.alerts.delivery_log.record(
        f"n-{school}", "mqtt", f"campus/{school}/alert", 1, "delivered", [alerts[Rule.FEVER].id]
    )
    cup = one_school_cup(f"cup-{class_id}", school, AT)
    gw.competitions.define(cup, "it1")
    entrant = Participant(student, school, class_id, "5", "M" if school == SCHOOL else "F")
    store_set(gw.competitions, cup, entrant, f"rope-{class_id}", 180, AT)
    held = store_set(
        gw.competitions, cup, entrant, f"rope2-{class_id}", 170, AT, [Hold.NO_LIVE_PROGRESS]
    )
    gone = f"gone-{class_id}"
    gw.users.create(gone, "Leaving", Role.PE_TEACHER, schools=[school])
    box = f"box-{class_id}"
    gw.fleet.enrol_box(school, box, [f"rope-{class_id}"])
    # One the enrolment rows leave alone (they revoke `box`), for the command rows.
    gw.fleet.enrol_box(school, f"fleet-{class_id}", [])
    push_device = f"tg-{class_id}"
    gw.push_tokens.mint(school, push_device, "vendor_gate_cloud")
    return World(
        school=school,
        lesson=lesson.id,
        class_id=class_id,
        student=student,
        device_alert=alerts[Rule.DEVICE_OFFLINE].id,
        fever_alert=alerts[Rule.FEVER].id,
        referral=referral.id,
        silence=silence.id,
        device=device,
        card=card,
        competition=cup.id,
        held_result=held,
        user=user,
        gone_user=gone,
        box=box,
        push_device=push_device,
    )


@contextmanager
def two_schools(tmp_path: Path, state: str | None = None) -> Iterator[TwoSchools]:
    """Users of SCHOOL: t1 (PE teacher of 5a), t2, h1 (health), it1 (campus IT), au1
    (auditor), d1 (district user of D1, whose one school is SCHOOL); of OTHER: t9 (PE teacher
    of 9a) and h2. The state in *state* (a path or a PostgreSQL URL) when given, else a SQLite
    file in *tmp_path*."""
    gw = build_campus(tmp_path, state)
    tokens = populate(gw)
    gw.users.set_schools("au1", [SCHOOL])
    tokens["t9"] = gw.users.create("t9", "Teacher Nine", Role.PE_TEACHER, schools=[OTHER])
    tokens["h2"] = gw.users.create("h2", "Nurse Two", Role.HEALTH_STAFF, schools=[OTHER])
    # d1 reads district D1 (SCHOOL); OTHER is of district D2.
    gw.districts.add(DISTRICT, "District One")
    gw.districts.set_schools(DISTRICT, [SCHOOL])
    gw.districts.add("D2", "District Two")
    gw.districts.set_schools("D2", [OTHER])
    tokens["d1"] = gw.users.create("d1", "District PE office", Role.DISTRICT, district=DISTRICT)
    gw.roster.add_class("9a", OTHER, "Class 9A", "5", "t9")
    gw.roster.add_student("s90", "孙九十", "F", date(2015, 2, 2), "9a")
    own = _school(gw, SCHOOL, "5a", "t1", "s1", seq=1, user="t2")
    other = _school(gw, OTHER, "9a", "t9", "s90", seq=2, user="t9")
    # A model offered to the boxes (the gateway checks no signature: the boxes do).
    probe = tmp_path / PROBE_MODEL
    probe.write_bytes(PROBE_BYTES)
    gw.models.add(probe, PROBE_SIGNATURE)
    # Minted again for the tokens (only their hashes are kept).
    push_tokens = {w.school: gw.push_tokens.rotate(w.school, w.push_device) for w in (own, other)}
    try:
        with TestClient(create_app(gw)) as client:
            yield TwoSchools(Campus(gw, client, tokens), own, other, push_tokens)
    finally:
        if gw.alerts is not None:
            gw.alerts.hub.close()
        gw.store.close()
        gw.db.close()
