"""`campusedge bench hr-alerts`: heart-rate alerts a simulated class raises, by rule, severity."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from campusedge.contract import TimeQuality
from campusedge.topics import DeviceKind
from gateway.alerts.clock import ManualClock
from gateway.alerts.config import AlertConfigs
from gateway.alerts.engine import AlertEngine
from gateway.alerts.model import HEART_RATE_RULES, Alert
from gateway.binding import Binder
from gateway.devices import Devices
from gateway.health.absences import Absences
from gateway.ingest import CommittedBatch
from gateway.roster import LessonKind, Roster
from gateway.state import StateDB
from gateway.store.base import StoredMessage

SCHOOL = "bench"
START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
# A PE lesson's structure as a share of its length and the class's activity (0 rest .. 1
# all-out): warm-up, skills, main part, cool-down.
PHASES = ((0.15, 0.45), (0.40, 0.60), (0.80, 0.72), (1.00, 0.25))
ROPE_TEST_S = 60
ROPE_TEST_ACTIVITY = 0.95  # a maximal minute
# Emergencies given to two extra students of every lesson, at these shares of it: a band at
# 220 bpm for two minutes, and a rate that falls to 40 bpm for one.
EXTREME_AT, EXTREME_BPM, EXTREME_FOR_S = 0.45, 220.0, 120
DROP_AT, DROP_BPM, DROP_FOR_S = 0.67, 40.0, 60


@dataclass
class Child:
    band: str
    rope: str
    age: int
    resting: float
    peak: float  # the heart rate at all-out effort: the child's own maximum
    effort: float  # how hard this child works relative to the class
    bpm: float


def activity(t: float, minutes: float, rope_at_s: float) -> float:
    if rope_at_s <= t < rope_at_s + ROPE_TEST_S:
        return ROPE_TEST_ACTIVITY
    share = t / (minutes * 60)
    return next(level for end, level in PHASES if share < end or end == 1.0)


def class_of(rng: random.Random, students: int) -> list[Child]:
    children = []
    for i in range(students):
        age = rng.randint(9, 15)
        # Measured maxima scatter around 208 − 0.7 × age by about 10 bpm (Tanaka 2001).
        peak = 208 - 0.7 * age + rng.gauss(0, 7)
        resting = rng.uniform(75, 95)
        children.append(
            Child(
                f"hr-{i:02d}", f"rope-{i:02d}", age, resting, peak, rng.uniform(0.8, 1.15), resting
            )
        )
    return children


def run_lesson(
    seed: int, students: int, minutes: float, rope_at_min: float, ropes_heard: bool
) -> tuple[list[Alert], dict[str, float | None]]:
    """One lesson through the real alert engine; its heart-rate alerts, and seconds from
    each injected emergency to its critical alert."""
    rng = random.Random(seed)
    children = class_of(rng, students)
    extreme, drop = (
        Child("hr-x1", "rope-x1", 12, 85, 200, 1.0, 85),
        Child("hr-x2", "rope-x2", 12, 85, 200, 1.0, 85),
    )
    everyone = [*children, extreme, drop]
    with tempfile.TemporaryDirectory(prefix="campusedge-bench-hr-") as tmp:
        db = StateDB(Path(tmp) / "state.db")
        try:
            roster = Roster(db)
            roster.add_class("c1", SCHOOL, "Class 1", "7", pe_teacher_id="t1")
            for n, c in enumerate(everyone):
                born = date(START.year - c.age, 1 + n % 12, 1)
                roster.add_student(f"s{n:02d}", f"Student {n}", "MF"[n % 2], born, "c1")
            assignments = {c.band: f"s{n:02d}" for n, c in enumerate(everyone)}
            assignments |= {c.rope: f"s{n:02d}" for n, c in enumerate(everyone)}
            roster.start_lesson("c1", "t1", LessonKind.LESSON, assignments, at=START)
            devices = Devices(db)
            clock = ManualClock(START)
            engine = AlertEngine(
                db, roster, devices, AlertConfigs(), clock=clock, absences=Absences(db)
            )
            binder = Binder(roster)
            rope_at = rope_at_min * 60
            extreme_at, drop_at = int(EXTREME_AT * minutes * 60), int(DROP_AT * minutes * 60)
            seq = 0
            for t in range(int(minutes * 60)):
                at = START + timedelta(seconds=t + 1)
                clock.set(at)
                level = activity(t, minutes, rope_at)
                messages = []
                for c in children:
                    target = c.resting + min(1.0, level * c.effort) * (c.peak - c.resting)
                    c.bpm += (target - c.bpm) / 20 + rng.gauss(0, 1.5)  # ~20 s to follow
                    seq += 1
                    messages.append(_reading(c.band, seq, at, "heart_rate", c.bpm, "bpm"))
                    if ropes_heard and rope_at <= t < rope_at + ROPE_TEST_S:
                        seq += 1
                        count = (t - rope_at) * 2.5 * c.effort
                        messages.append(_reading(c.rope, seq, at, "rope_count", count, "count"))
                for c, start, bpm, length in (
                    (extreme, extreme_at, EXTREME_BPM, EXTREME_FOR_S),
                    (drop, drop_at, DROP_BPM, DROP_FOR_S),
                ):
                    seq += 1
                    value = bpm if start <= t < start + length else 110 + rng.gauss(0, 1.5)
                    messages.append(_reading(c.band, seq, at, "heart_rate", value, "bpm"))
                engine.on_batch(CommittedBatch(messages=binder.bind_messages(messages)))
            alerts = [a for a in engine.lifecycle.find(limit=10_000) if a.rule in HEART_RATE_RULES]
            engine.stop()
        finally:
            db.close()
    to_critical: dict[str, float | None] = {}
    for name, child, start in (
        ("extreme_220", extreme, extreme_at),
        ("drop_40", drop, drop_at),
    ):
        found = [a for a in alerts if a.device_id == child.band and a.severity.value == "critical"]
        first = min((a.opened_at for a in found), default=None)
        began = START + timedelta(seconds=start + 1)
        to_critical[name] = None if first is None else (first - began).total_seconds()
    alerts = [a for a in alerts if a.device_id not in (extreme.band, drop.band)]
    return alerts, to_critical


def _reading(
    device: str, seq: int, at: datetime, metric: str, value: float, unit: str
) -> StoredMessage:
    kind = DeviceKind.HR_BAND if metric == "heart_rate" else DeviceKind.JUMP_ROPE
    return StoredMessage(
        school=SCHOOL,
        kind=kind,
        device_id=device,
        seq=seq,
        ts=at,
        time_quality=TimeQuality.SYNCED,
        received_at=at,
        readings=((metric, round(value, 1), unit),),
    )


def _summary(per_lesson: list[Counter[str]]) -> dict[str, dict[str, float]]:
    keys = sorted({k for c in per_lesson for k in c})
    return {
        k: {
            "mean": round(statistics.fmean(c[k] for c in per_lesson), 2),
            "max": max(c[k] for c in per_lesson),
        }
        for k in keys
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lessons", type=int, default=5, help="simulated lessons (seeds 1..N)")
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--minutes", type=float, default=45, help="length of each lesson")
    parser.add_argument(
        "--rope-test-at", type=float, default=22, metavar="MINUTE", help="the rope test's start"
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON line")


def run(args: argparse.Namespace) -> int:
    result: dict[str, object] = {
        "lessons": args.lessons,
        "students": args.students,
        "minutes": args.minutes,
    }
    emergencies: dict[str, list[float | None]] = {"extreme_220": [], "drop_40": []}
    # The same lessons twice: as the gateway sees them (ropes counting), and as the rules
    # saw them before they knew about tests (no rope heard): the baseline of the same run.
    for label, ropes in (("alerts_per_lesson", True), ("baseline_without_ropes", False)):
        counts: list[Counter[str]] = []
        for seed in range(1, args.lessons + 1):
            alerts, to_critical = run_lesson(
                seed, args.students, args.minutes, args.rope_test_at, ropes
            )
            counts.append(Counter(f"{a.rule.value}/{a.severity.value}" for a in alerts))
            if ropes:
                for name, seconds in to_critical.items():
                    emergencies[name].append(seconds)
            if not args.json:
                print(f"{label} seed {seed}: {dict(counts[-1]) or 'none'}")
        result[label] = _summary(counts)
    result["seconds_to_critical"] = emergencies
    print(json.dumps(result))
    return 0
