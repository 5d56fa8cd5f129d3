"""Rules fed by the device simulators through the real drivers: a gate morning, a PE lesson
where one student's heart rate runs away, a screening day.

The frames come from `simulators.temp_gate`, `simulators.hr_band` and
`simulators.vision_screener`, are framed and
decoded by `drivers.temp_gate` and `drivers.vision_screener` exactly as the edge agent does, and
reach the engine as the stored messages the ingest path would hand it.
"""

from __future__ import annotations

import random
from datetime import timedelta

from campusedge.contract import Event, TimeQuality
from campusedge.topics import DeviceKind
from drivers.base import Driver, DriverConfig
from drivers.registry import DRIVERS
from gateway.alerts.model import Rule
from gateway.roster import LessonKind
from gateway.store.base import StoredMessage
from simulators.hr_band import Band
from simulators.temp_gate import FLAG_AT_C, Gate
from simulators.vision_screener import Screener
from tests.gateway.alerts.scenario import MORNING, SCHOOL, World, batch, build_world


def decode_all(driver: Driver, cfg: DriverConfig, frames: list[bytes]) -> list[Event]:
    framer = driver.framer(cfg)
    events = []
    for frame in framer.feed(b"".join(frames)):
        for decoded in driver.decode(frame, cfg):
            assert decoded.event is not None
            events.append(decoded.event)
    return events


def stored(kind: DeviceKind, device: str, seq: int, event: Event, at: object) -> StoredMessage:
    return StoredMessage(
        school=SCHOOL,
        kind=kind,
        device_id=device,
        seq=seq,
        ts=at,  # type: ignore[arg-type]
        time_quality=TimeQuality.SYNCED,
        received_at=at,  # type: ignore[arg-type]
        readings=tuple((r.metric.value, float(r.value), r.unit.value) for r in event.readings),
        event_type=event.type,
        attributes=tuple(sorted(event.attributes.items())),
    )


def enrol(w: World, subjects: dict[int, str], students: list[str]) -> None:
    for number, subject in subjects.items():
        w.roster.enrol_card(students[number], subject)


def test_simulated_gate_morning(state_url: str) -> None:
    w = build_world(state_url, students_per_class=100)
    gate = Gate(random.Random(11))
    fevers = {17, 42, 150}
    frames, subjects = [], {}
    for i in range(200):
        line = gate.passing(i, MORNING + timedelta(seconds=4 * i), fever=i in fevers)
        frames.append(line)
        subjects[i] = line.split(b",")[3].decode()  # the gate's pseudonymous card/face id
    enrol(w, subjects, w.students)
    driver = DRIVERS["temp_gate"]
    events = decode_all(driver, driver.Config(), frames)
    assert len(events) == 200
    messages = [
        stored(DeviceKind.TEMP_GATE, "gate-north", i, e, MORNING + timedelta(seconds=4 * i))
        for i, e in enumerate(events)
    ]
    for i in range(0, 200, 20):
        w.feed(batch(*messages[i : i + 20]))
    alerts = w.engine.lifecycle.find(rule=Rule.FEVER)
    assert sorted(a.student_id for a in alerts) == sorted(w.students[i] for i in fevers)
    for a in alerts:
        assert a.detail["temperature_c"] >= FLAG_AT_C
        assert a.detail["subject_id"] == subjects[w.students.index(a.student_id)]  # type: ignore[arg-type]


def test_simulated_screening_day(state_url: str) -> None:
    w = build_world(state_url)
    screener = Screener(random.Random(5))
    frames = [screener.record(i) for i in range(40)]
    driver = DRIVERS["vision_screener"]
    events = decode_all(driver, driver.Config(), frames)
    assert len(events) == 40
    # The screener names students by their class-list id: enrol those ids as the roster's.
    subjects = {i: str(dict(e.attributes)["subject_id"]) for i, e in enumerate(events)}
    enrol(w, subjects, w.students)
    w.feed(
        batch(
            *(
                stored(DeviceKind.VISION_SCREENER, "screener-1", i, e, MORNING)
                for i, e in enumerate(events)
            )
        )
    )
    refs = w.referrals.find(school=SCHOOL)
    poor = {
        w.students[i]
        for i, e in enumerate(events)
        if any(
            r.metric.value.startswith("acuity_uncorrected") and round(r.value, 1) < 5.0
            for r in e.readings
        )
    }
    assert refs and {r.student_id for r in refs} == poor
    myopic = [r for r in refs if any(f["finding"] == "screening_myopia" for f in r.findings)]
    assert myopic, "a population with 35 % myopia has screening-myopia referrals"
    assert w.out.notifications == []


def test_simulated_lesson_where_one_heart_rate_runs_away(state_url: str) -> None:
    w = build_world(state_url)
    rng = random.Random(3)
    # Six 12-year-olds (limit 90 % of 208 − 0.7 × 12 = 179.6 bpm); band 3 is pushed all-out
    # towards a maximum of 205 while the others work at a lesson's main-part intensity.
    bands = {
        f"band-{i}": Band(i, rng, resting_bpm=85, max_bpm=205 if i == 3 else 196) for i in range(6)
    }
    w.roster.start_lesson(
        "c1",
        "t1",
        LessonKind.LESSON,
        {d: f"c1s{i:02d}" for i, d in enumerate(bands)},
        at=MORNING,
        lesson_id="pe-sim",
    )
    driver = DRIVERS["hr_band"]
    cfg = driver.Config()
    seq = 0
    for t in range(1, 241):
        at = MORNING + timedelta(seconds=t)
        w.clock.set(at)
        messages = []
        for device, band in bands.items():
            note = band.step(1.0, 1.0 if band.index == 3 else 0.55)
            [decoded] = driver.decode(note, cfg)
            seq += 1
            messages.append(
                StoredMessage(
                    school=SCHOOL,
                    kind=DeviceKind.HR_BAND,
                    device_id=device,
                    seq=seq,
                    ts=at,
                    time_quality=TimeQuality.SYNCED,
                    received_at=at,
                    readings=tuple(
                        (r.metric.value, float(r.value), r.unit.value) for r in decoded.readings
                    ),
                )
            )
        w.feed(batch(*messages))
        w.engine.tick()
    [alert] = w.engine.lifecycle.find(rule=Rule.HR_HIGH)
    assert alert.student_id == "c1s03" and alert.device_id == "band-3"
    assert alert.lesson_id == "pe-sim" and alert.teacher_id == "t1"
    assert alert.detail["limit_bpm"] == 179.6 and alert.detail["bpm"] >= 179.6
    assert w.engine.lifecycle.find(rule=Rule.HR_LOW) == []
    assert w.engine.lifecycle.find(rule=Rule.HR_SIGNAL_LOST) == []
    assert [a.id for n in w.out.notifications for a in n.alerts] == [alert.id]
