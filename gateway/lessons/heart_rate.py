"""Heart-rate zones, exercise density and class mean heart rate of a PE lesson (pure).

HRmax = 208 − 0.7 × age (Tanaka 2001; the most accurate estimate for children: Mahon et al.
2010, Carli et al. 2023). Zones are ACSM's intensity classes by %HRmax (Garber et al. 2011,
ACSM position stand, Med Sci Sports Exerc 43(7)): very light < 57 %, light 57–63 %, moderate
64–76 %, vigorous 77–95 %, near-maximal ≥ 96 %. Exercise density is the share of measured time
at or above the moderate threshold (default 64 % HRmax). Guidance (义务教育体育与健康课程标准
2022 and the 2020–2030 action plan): group density ≥ 75 %, individual ≥ 50 %, mean heart rate
140–160 bpm.

Time is attributed sample to sample: a sample's heart rate holds until the next sample, when
that comes within `max_gap_s`; a longer gap (band off, out of range) is no data, not rest.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

# (zone, lower bound in %HRmax inclusive); each zone runs to the next one's lower bound.
ZONES: Final[tuple[tuple[str, float], ...]] = (
    ("very_light", 0.0),
    ("light", 57.0),
    ("moderate", 64.0),
    ("vigorous", 77.0),
    ("near_maximal", 96.0),
)
ZONE_NAMES: Final = tuple(name for name, _ in ZONES)


class HeartRateSettings(BaseModel):
    """Analytics defaults; every number can be changed per gateway (and the threshold per query)."""

    model_config = ConfigDict(extra="forbid")

    moderate_pct: float = Field(
        default=64.0, gt=0, le=100, description="moderate-intensity threshold, % of HRmax"
    )
    max_gap_s: float = Field(
        default=10.0, gt=0, le=600, description="longest gap between samples still counted as worn"
    )
    group_density_min_pct: float = Field(default=75.0, ge=0, le=100)
    individual_density_min_pct: float = Field(default=50.0, ge=0, le=100)
    mean_hr_low_bpm: float = Field(default=140.0, gt=0)
    mean_hr_high_bpm: float = Field(default=160.0, gt=0)

    @model_validator(mode="after")
    def _range(self) -> HeartRateSettings:
        if self.mean_hr_low_bpm > self.mean_hr_high_bpm:
            raise ValueError("mean_hr_low_bpm must not exceed mean_hr_high_bpm")
        return self


def hr_max(age: float) -> float:
    """Tanaka: 208 − 0.7 × age."""
    return 208.0 - 0.7 * age


def zone_of(bpm: float, max_bpm: float) -> str:
    pct = 100.0 * bpm / max_bpm
    name = ZONES[0][0]
    for zone, low in ZONES:
        if pct >= low:
            name = zone
    return name


@dataclass(frozen=True)
class StudentHeartRate:
    """One student's lesson: seconds per zone, density and mean over the measured time."""

    age: int
    hr_max_bpm: float
    threshold_bpm: float
    measured_s: float
    zone_s: dict[str, float]
    at_or_above_s: float
    density_pct: float | None
    mean_bpm: float | None
    peak_bpm: float | None
    weighted_sum: float = field(repr=False)  # Σ bpm × seconds, for the class mean


@dataclass(frozen=True)
class GroupHeartRate:
    """The class: mean of the students' densities and the time-weighted mean heart rate."""

    students_measured: int
    density_pct: float | None
    mean_bpm: float | None
    density_ok: bool | None
    mean_ok: bool | None


def attributed(
    samples: Iterable[tuple[datetime, float]],
    max_gap_s: float,
    window: tuple[datetime, datetime] | None = None,
) -> Iterator[tuple[datetime, datetime, float]]:
    """The intervals (start, end, bpm) the samples account for, oldest first: each sample's
    heart rate holds until the next sample within *max_gap_s*; zero readings are skipped.
    With *window* (since inclusive, until exclusive) the intervals are cut to it."""
    points = sorted((ts, bpm) for ts, bpm in samples if bpm > 0)
    for (ts, bpm), (nxt, _) in itertools.pairwise(points):
        dt = (nxt - ts).total_seconds()
        if dt <= 0 or dt > max_gap_s:
            continue
        if window is not None:
            ts, nxt = max(ts, window[0]), min(nxt, window[1])
            if nxt <= ts:
                continue
        yield ts, nxt, bpm


def student_heart_rate(
    samples: Iterable[tuple[datetime, float]],
    age: int,
    settings: HeartRateSettings,
    moderate_pct: float | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> StudentHeartRate:
    """Analyse one student's samples (any order); zero or absent readings are skipped. With
    *window*, only the time inside it counts (a lesson's main part)."""
    top = hr_max(age)
    threshold = top * (moderate_pct if moderate_pct is not None else settings.moderate_pct) / 100
    points = sorted((ts, bpm) for ts, bpm in samples if bpm > 0)
    zone_s = dict.fromkeys(ZONE_NAMES, 0.0)
    measured = above = weighted = 0.0
    for ts, nxt, bpm in attributed(points, settings.max_gap_s, window):
        dt = (nxt - ts).total_seconds()
        measured += dt
        weighted += bpm * dt
        zone_s[zone_of(bpm, top)] += dt
        if bpm >= threshold:
            above += dt
    return StudentHeartRate(
        age=age,
        hr_max_bpm=round(top, 1),
        threshold_bpm=round(threshold, 1),
        measured_s=measured,
        zone_s=zone_s,
        at_or_above_s=above,
        density_pct=100.0 * above / measured if measured else None,
        mean_bpm=weighted / measured if measured else None,
        peak_bpm=max(
            (bpm for ts, bpm in points if window is None or window[0] <= ts < window[1]),
            default=None,
        ),
        weighted_sum=weighted,
    )


def group_heart_rate(
    students: Sequence[StudentHeartRate], settings: HeartRateSettings
) -> GroupHeartRate:
    """Group density = mean of individual densities (each student counts once); mean HR is
    pooled over all measured student-seconds."""
    measured = [s for s in students if s.measured_s > 0]
    if not measured:
        return GroupHeartRate(0, None, None, None, None)
    density = sum(s.density_pct or 0.0 for s in measured) / len(measured)
    mean = sum(s.weighted_sum for s in measured) / sum(s.measured_s for s in measured)
    return GroupHeartRate(
        students_measured=len(measured),
        density_pct=density,
        mean_bpm=mean,
        density_ok=density >= settings.group_density_min_pct,
        mean_ok=settings.mean_hr_low_bpm <= mean <= settings.mean_hr_high_bpm,
    )
