"""The lesson report on a synthetic lesson whose curve, densities and means are known exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.lessons.heart_rate import HeartRateSettings
from gateway.lessons.report import (
    LessonReport,
    ReportError,
    StudentReport,
    StudentSamples,
    Target,
    lesson_report,
)

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
END = T0 + timedelta(minutes=10)
MAIN = (T0 + timedelta(minutes=2), T0 + timedelta(minutes=8))
DEFAULTS = HeartRateSettings()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def bpm(i: int, t: int) -> float:
    """Student i: 100 + 10·i bpm for the first 5 minutes, the whole class at 150 in minutes
    5–7, at 100 in the cool-down (minutes 8–9)."""
    if t < 300:
        return 100.0 + 10 * i
    return 150.0 if t < 480 else 100.0


def synthetic() -> list[StudentSamples]:
    """Ten 12-year-olds (HRmax 199.6, moderate from 64 %: 127.744 bpm) sampled every second
    from 0 to 600 s, and one whose band sent nothing."""
    students = [
        StudentSamples(f"s{i}", 12, [(at(t), bpm(i, t)) for t in range(601)]) for i in range(10)
    ]
    return [*students, StudentSamples("s-none", 12, [])]


def by_id(report: LessonReport) -> dict[str, StudentReport]:
    return {s.student_id: s for s in report.students}


def test_class_curve_per_minute_mean_and_middle_80_percent() -> None:
    report = lesson_report(synthetic(), T0, END, DEFAULTS, main_part=MAIN)
    assert [p.minute for p in report.curve] == list(range(10))
    assert {p.students for p in report.curve} == {10}  # s-none is in no minute
    # Minutes 0–4: 100, 110, …, 190 bpm. Mean 145; linear percentiles over ten sorted values:
    # 10th at position 0.9 → 109, 90th at position 8.1 → 181.
    for p in report.curve[:5]:
        assert (p.mean_bpm, p.p10_bpm, p.p90_bpm) == pytest.approx((145, 109, 181))
    for p in report.curve[5:8]:
        assert (p.mean_bpm, p.p10_bpm, p.p90_bpm) == pytest.approx((150, 150, 150))
    for p in report.curve[8:]:
        assert (p.mean_bpm, p.p10_bpm, p.p90_bpm) == pytest.approx((100, 100, 100))


def test_main_part_density_mean_zones_and_targets() -> None:
    """Main part 2–8 min: 180 s at 100 + 10·i, 180 s at 150.

    Students 0–2 (100–120 bpm, under 127.744) are at moderate or above half the time: 50 %;
    students 3–9 all the time: 100 %. Group density (3·50 + 7·100) / 10 = 85 % (≥ 75 %).
    Student i's mean is (100 + 10·i + 150) / 2 = 125 + 5·i; all measured 360 s, so the class
    mean is 125 + 5·4.5 = 147.5 bpm (within 140–160). Below 140: s0–s2; above 160: s8, s9.
    """
    report = lesson_report(synthetic(), T0, END, DEFAULTS, main_part=MAIN)
    students = by_id(report)
    for i in range(10):
        s = students[f"s{i}"]
        hr = s.heart_rate
        assert hr.measured_s == pytest.approx(360)
        assert hr.density_pct == pytest.approx(50 if i < 3 else 100)
        assert hr.mean_bpm == pytest.approx(125 + 5 * i)
        assert hr.peak_bpm == max(100 + 10 * i, 150)
    assert report.group.students_measured == 10
    assert report.group.density_pct == pytest.approx(85)
    assert report.group.mean_bpm == pytest.approx(147.5)
    assert report.group.density_ok is True and report.group.mean_ok is True
    assert report.stayed(Target.BELOW) == ["s0", "s1", "s2"]
    assert report.stayed(Target.ABOVE) == ["s8", "s9"]
    # 140 and 160 are inside the band: s3 (mean 140) and s7 (160) are within.
    assert students["s3"].target is Target.WITHIN
    assert students["s7"].target is Target.WITHIN
    # s0: 100 bpm (50.1 % HRmax, very light) then 150 (75.2 %, moderate), half each.
    s0 = students["s0"]
    assert s0.zone_pct == pytest.approx(
        {"very_light": 50, "light": 0, "moderate": 50, "vigorous": 0, "near_maximal": 0}
    )
    assert s0.target_s == pytest.approx({Target.BELOW: 180, Target.WITHIN: 180, Target.ABOVE: 0})
    # s9: 190 bpm (95.2 %, vigorous, over 160) then 150.
    s9 = students["s9"]
    assert s9.zone_pct["vigorous"] == pytest.approx(50)
    assert s9.target_s == pytest.approx({Target.BELOW: 0, Target.WITHIN: 180, Target.ABOVE: 180})
    none = students["s-none"]
    assert none.heart_rate.measured_s == 0 and none.zone_pct is None
    assert none.target is None and none.density_ok is None


def test_whole_lesson_when_no_main_part_is_given() -> None:
    """Over all 600 s: students 0–2 are at 150 for 180 s (30 %); students 3–9 for the first
    300 s too (80 %). Group (3·30 + 7·80) / 10 = 65 %, short of 75 %. Student i's mean
    (300·(100 + 10·i) + 180·150 + 120·100) / 600 = 115 + 5·i; the class's 137.5, under 140."""
    report = lesson_report(synthetic(), T0, END, DEFAULTS)
    assert (report.main_since, report.main_until) == (T0, END)
    assert report.group.density_pct == pytest.approx(65)
    assert report.group.mean_bpm == pytest.approx(137.5)
    assert report.group.density_ok is False and report.group.mean_ok is False
    assert report.stayed(Target.BELOW) == [f"s{i}" for i in range(5)]  # means 115 … 135 bpm
    assert report.stayed(Target.ABOVE) == []


def test_a_lower_threshold_and_other_targets_come_from_the_settings() -> None:
    settings = HeartRateSettings(group_density_min_pct=90, mean_hr_low_bpm=120)
    report = lesson_report(synthetic(), T0, END, settings, main_part=MAIN, moderate_pct=50)
    # 50 % of 199.6 = 99.8 bpm: everyone is always at or above it.
    assert report.group.density_pct == pytest.approx(100) and report.moderate_pct == 50
    assert report.group.density_ok is True
    assert report.stayed(Target.BELOW) == []


def test_minutes_split_an_interval_across_their_boundary_and_empty_minutes_have_no_figures() -> (
    None
):
    # 100 bpm from 55 s to 65 s, then 160 until 70 s: minute 0 holds 5 s at 100; minute 1
    # 5 s at 100 and 5 s at 160 (mean 130). Minute 2 nobody.
    samples = [(at(55), 100.0), (at(65), 160.0), (at(70), 160.0)]
    report = lesson_report(
        [StudentSamples("a", 12, samples)], T0, T0 + timedelta(seconds=150), DEFAULTS
    )
    assert [(p.minute, p.students, p.mean_bpm) for p in report.curve] == [
        (0, 1, 100),
        (1, 1, 130),
        (2, 0, None),
    ]
    assert report.curve[1].p10_bpm == report.curve[1].p90_bpm == 130


def test_a_main_part_outside_the_lesson_is_refused() -> None:
    with pytest.raises(ReportError, match="main part"):
        lesson_report([], T0, END, DEFAULTS, main_part=(T0, END + timedelta(minutes=1)))
    with pytest.raises(ReportError, match="main part"):
        lesson_report([], T0, END, DEFAULTS, main_part=(MAIN[1], MAIN[0]))
    with pytest.raises(ReportError, match="ends"):
        lesson_report([], END, T0, DEFAULTS)


def test_a_lesson_without_readings_has_an_empty_report() -> None:
    report = lesson_report([StudentSamples("a", 12, [])], T0, END, DEFAULTS)
    assert report.group.students_measured == 0 and report.group.density_pct is None
    assert all(p.students == 0 and p.mean_bpm is None for p in report.curve)
