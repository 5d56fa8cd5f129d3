"""A PE lesson's heart-rate report: class curve per minute, zones, density and targets (pure).

Built on `gateway.lessons.heart_rate` (HRmax, zones, time attribution, densities), so the
report and the analytics route agree to the second. What the report adds:

- the class curve: per minute of the lesson, each student's time-weighted mean heart rate in
  that minute, then across the students measured in it their mean and the 10th and 90th
  percentiles (linear interpolation, numpy's default): the band of the middle 80 %;
- the lesson's *main part* (基本部分): the curriculum's targets are for it, so densities,
  zones and means are over a window that defaults to the whole lesson;
- the target zone: the curriculum's mean heart rate band (140–160 bpm by default); a student
  whose mean over the main part is under it stayed below, over it stayed above, and each
  student's seconds below, within and above the band.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Final

import numpy as np

from gateway.lessons.heart_rate import (
    GroupHeartRate,
    HeartRateSettings,
    StudentHeartRate,
    attributed,
    group_heart_rate,
    student_heart_rate,
)

MINUTE: Final = timedelta(minutes=1)
# A report is of one lesson: a span longer than this is a lesson left open, not a lesson.
MAX_SPAN: Final = timedelta(hours=6)


class Target(StrEnum):
    """Where a student's mean heart rate over the main part lies against the target band."""

    BELOW = "below"
    WITHIN = "within"
    ABOVE = "above"


@dataclass(frozen=True)
class StudentSamples:
    """One student's heart-rate samples of the lesson (device time, bpm), any order."""

    student_id: str
    age: int
    samples: Sequence[tuple[datetime, float]]


@dataclass(frozen=True)
class MinutePoint:
    """The class in one minute of the lesson; figures are None when nobody was measured."""

    minute: int  # from the lesson's start, 0 first
    students: int
    mean_bpm: float | None
    p10_bpm: float | None
    p90_bpm: float | None


@dataclass(frozen=True)
class StudentReport:
    """One student over the main part."""

    student_id: str
    heart_rate: StudentHeartRate
    zone_pct: dict[str, float] | None  # share of measured time per zone; None when unmeasured
    density_ok: bool | None
    target_s: dict[Target, float]  # measured seconds below, within and above the target band
    target: Target | None  # by the mean; None when unmeasured


@dataclass(frozen=True)
class LessonReport:
    since: datetime
    until: datetime
    main_since: datetime
    main_until: datetime
    moderate_pct: float
    settings: HeartRateSettings
    curve: list[MinutePoint]
    students: list[StudentReport]
    group: GroupHeartRate

    def stayed(self, target: Target) -> list[str]:
        """The ids of the students whose mean lies *target* the band, in the report's order."""
        return [s.student_id for s in self.students if s.target is target]


@dataclass(frozen=True)
class Labels:
    """What a reader sees of the lesson and its students: names only for those who may."""

    title: str  # the class and lesson, as the reader knows them
    students: Mapping[str, str]  # student id -> name or id
    zone: tzinfo


class ReportError(ValueError):
    """A report that cannot be made: a main part outside the lesson, or no lesson span."""


def lesson_report(
    students: Sequence[StudentSamples],
    since: datetime,
    until: datetime,
    settings: HeartRateSettings,
    *,
    main_part: tuple[datetime, datetime] | None = None,
    moderate_pct: float | None = None,
) -> LessonReport:
    """The report of a lesson from *since* to *until* (exclusive)."""
    if until <= since:
        raise ReportError(f"the lesson ends ({until}) before or when it starts ({since})")
    if until - since > MAX_SPAN:
        raise ReportError(
            f"the lesson runs {(until - since) / timedelta(hours=1):.1f} h, longer than a "
            f"report covers ({MAX_SPAN / timedelta(hours=1):g} h): was it left open? End it first"
        )
    main = main_part or (since, until)
    if not since <= main[0] < main[1] <= until:
        raise ReportError(
            f"the main part {main[0]}–{main[1]} must be a non-empty part of the lesson "
            f"{since}–{until}"
        )
    threshold = moderate_pct if moderate_pct is not None else settings.moderate_pct
    minutes = math.ceil((until - since) / MINUTE)
    per_minute: list[list[float]] = [[] for _ in range(minutes)]
    reports: list[StudentReport] = []
    for student in students:
        for minute, bpm in _minute_means(student.samples, since, until, settings.max_gap_s):
            per_minute[minute].append(bpm)
        hr = student_heart_rate(student.samples, student.age, settings, threshold, window=main)
        reports.append(_student(student, hr, main, settings))
    return LessonReport(
        since=since,
        until=until,
        main_since=main[0],
        main_until=main[1],
        moderate_pct=threshold,
        settings=settings,
        curve=[_point(minute, values) for minute, values in enumerate(per_minute)],
        students=reports,
        group=group_heart_rate([r.heart_rate for r in reports], settings),
    )


def _minute_means(
    samples: Sequence[tuple[datetime, float]], since: datetime, until: datetime, max_gap_s: float
) -> list[tuple[int, float]]:
    """(minute, time-weighted mean bpm) for each minute the student was measured in."""
    seconds: dict[int, float] = {}
    weighted: dict[int, float] = {}
    for start, end, bpm in attributed(samples, max_gap_s, (since, until)):
        # An interval may cross minute boundaries: each minute gets its own part.
        while start < end:
            minute = int((start - since) / MINUTE)
            cut = min(end, since + (minute + 1) * MINUTE)
            dt = (cut - start).total_seconds()
            seconds[minute] = seconds.get(minute, 0.0) + dt
            weighted[minute] = weighted.get(minute, 0.0) + bpm * dt
            start = cut
    return [(m, weighted[m] / seconds[m]) for m in sorted(seconds)]


def _point(minute: int, values: list[float]) -> MinutePoint:
    if not values:
        return MinutePoint(minute, 0, None, None, None)
    p10, p90 = np.percentile(values, [10, 90])
    return MinutePoint(minute, len(values), sum(values) / len(values), float(p10), float(p90))


def _student(
    student: StudentSamples,
    hr: StudentHeartRate,
    main: tuple[datetime, datetime],
    settings: HeartRateSettings,
) -> StudentReport:
    low, high = settings.mean_hr_low_bpm, settings.mean_hr_high_bpm
    target_s = dict.fromkeys(Target, 0.0)
    for start, end, bpm in attributed(student.samples, settings.max_gap_s, main):
        band = Target.BELOW if bpm < low else Target.ABOVE if bpm > high else Target.WITHIN
        target_s[band] += (end - start).total_seconds()
    target: Target | None = None
    if hr.mean_bpm is not None:
        # The exact mean decides, as for the group: 139.96 bpm is below 140.
        mean = hr.mean_bpm
        target = Target.BELOW if mean < low else Target.ABOVE if mean > high else Target.WITHIN
    return StudentReport(
        student_id=student.student_id,
        heart_rate=hr,
        zone_pct={z: 100.0 * s / hr.measured_s for z, s in hr.zone_s.items()}
        if hr.measured_s
        else None,
        density_ok=None
        if hr.density_pct is None
        else hr.density_pct >= settings.individual_density_min_pct,
        target_s=target_s,
        target=target,
    )
