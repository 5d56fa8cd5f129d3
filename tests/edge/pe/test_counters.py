"""Rep counters on synthetic keypoint sequences with known counts, noise, gaps and pauses."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from edge.pe import features as ft
from edge.pe.counters import Exercise, FormFlag, QualityReason, RepCounter, make_counter
from tests.edge.pe import skeleton as sk

FloatArrayOrNone = sk.FloatArray | None


def run(counter: RepCounter, frames: list[sk.FloatArray | None]) -> RepCounter:
    vis = sk.visibility()
    for i, k in enumerate(frames):
        counter.update(i, i / sk.FPS, k, vis if k is not None else None)
    return counter


POSES: dict[Exercise, tuple[Callable[[float], sk.Joints], float]] = {
    Exercise.SQUAT: (lambda a: sk.standing(hip_drop=0.85 * a), 2.0),
    Exercise.JUMPING_JACK: (
        lambda a: sk.standing(
            arms_up=a, feet_apart=0.5 * a, phase_lift=0.1 * math.sin(math.pi * a)
        ),
        1.0,
    ),
    Exercise.PUSH_UP: (sk.push_up, 1.6),
    Exercise.SIT_UP: (sk.sit_up, 2.2),
    Exercise.PULL_UP: (sk.pull_up, 2.5),
}


@pytest.mark.parametrize("exercise", list(POSES))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counts_clean_reps_with_noise_and_missed_frames(exercise: Exercise, seed: int) -> None:
    pose, period = POSES[exercise]
    frames = sk.degrade(
        sk.cycles(pose, reps=7, period_s=period), seed=seed, noise_px=2.0, miss_rate=0.08
    )
    result = run(make_counter(exercise), frames).result
    assert result.count == 7
    assert not result.form_flags.get(FormFlag.INCOMPLETE_RANGE.value)
    # Reps are one period apart, so the cadence is 60 / period.
    assert result.cadence_per_min == pytest.approx(60.0 / period, rel=0.1)


@pytest.mark.parametrize("exercise", list(POSES))
def test_a_pause_mid_set_neither_adds_nor_loses_reps(exercise: Exercise) -> None:
    pose, period = POSES[exercise]
    frames = sk.degrade(
        sk.cycles(pose, reps=6, period_s=period, pause_after=2, pause_s=4.0), seed=7, noise_px=2.5
    )
    assert run(make_counter(exercise), frames).result.count == 6


@pytest.mark.parametrize("exercise", list(POSES))
def test_half_reps_count_but_are_flagged_and_twitches_do_not_count(exercise: Exercise) -> None:
    pose, period = POSES[exercise]
    amplitudes = [1.0, 1.0, 1.0, 0.5, 1.0, 1.0, 0.08, 1.0, 0.5, 1.0, 1.0]
    frames = sk.degrade(
        sk.cycles(pose, reps=len(amplitudes), period_s=period, amplitudes=amplitudes),
        seed=11,
        noise_px=1.5,
    )
    result = run(make_counter(exercise), frames).result
    assert result.count == 10  # the 8 % twitch is not a rep
    assert result.form_flags.get(FormFlag.INCOMPLETE_RANGE.value) == 2
    flagged = [r.frame for r in result.reps if FormFlag.INCOMPLETE_RANGE in r.flags]
    assert len(flagged) == 2


def test_standing_still_counts_nothing() -> None:
    # 1.5 % of the torso per keypoint and frame, more than the smoothed tracker jitters.
    frames = sk.degrade((sk.standing() for _ in range(300)), seed=3, noise_px=1.5)
    for exercise in Exercise:
        assert run(make_counter(exercise), frames).result.count == 0, exercise


def test_long_tracking_loss_is_flagged() -> None:
    pose, period = POSES[Exercise.SQUAT]
    frames = sk.degrade(sk.cycles(pose, reps=5, period_s=period), seed=5, miss_rate=0.4)
    result = run(make_counter(Exercise.SQUAT), frames).result
    assert result.form_flags.get(FormFlag.TRACKING_LOST.value) == 1


def test_squat_depth_is_checked() -> None:
    shallow = sk.degrade(
        sk.cycles(lambda a: sk.standing(hip_drop=0.35 * a), reps=4, period_s=2.0),
        seed=2,
        noise_px=1.0,
    )
    result = run(make_counter(Exercise.SQUAT), shallow).result
    assert result.count == 4
    assert result.form_flags.get(FormFlag.SHALLOW.value) == 4


def test_rep_frames_are_at_the_bottom_of_each_squat() -> None:
    period = 2.0
    frames = sk.degrade(
        sk.cycles(lambda a: sk.standing(hip_drop=0.85 * a), reps=3, period_s=period),
        seed=1,
        noise_px=0.5,
    )
    reps = run(make_counter(Exercise.SQUAT), frames).result.reps
    lead, per = round(sk.FPS), round(period * sk.FPS)
    expected = [lead + i * per + per // 2 for i in range(3)]
    assert [r.frame for r in reps] == pytest.approx(expected, abs=3)


def test_unknown_exercise_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown exercise 'burpee'"):
        make_counter("burpee")


def _hide(frames: list[sk.FloatArray | None], points: tuple[int, ...]) -> list[FloatArrayOrNone]:
    """The same frames with *points* out of frame (the model puts them anywhere, unseen)."""
    hidden: list[FloatArrayOrNone] = []
    for k in frames:
        if k is not None:
            k = k.copy()
            k[list(points), :2] = (900.0, 900.0)
        hidden.append(k)
    return hidden


def run_hidden(
    counter: RepCounter, frames: list[FloatArrayOrNone], points: tuple[int, ...]
) -> RepCounter:
    vis = sk.visibility()
    vis[list(points)] = 0.05
    for i, k in enumerate(_hide(frames, points)):
        counter.update(i, i / sk.FPS, k, vis if k is not None else None)
    counter.finish()
    return counter


FEET = (ft.L_KNEE, ft.R_KNEE, ft.L_ANKLE, ft.R_ANKLE, ft.L_HEEL, ft.R_HEEL, ft.L_FOOT, ft.R_FOOT)
HANDS = (ft.L_WRIST, ft.R_WRIST, *range(17, 23))


@pytest.mark.parametrize(
    ("exercise", "hidden", "signal"),
    [
        (Exercise.SQUAT, FEET, "trunk_height"),
        (Exercise.PUSH_UP, HANDS, "shoulders_over_elbows"),
        (Exercise.PULL_UP, HANDS, "trunk_height"),
        (Exercise.JUMPING_JACK, HANDS, "elbows_over_shoulders"),
        (Exercise.SIT_UP, (ft.L_KNEE, ft.R_KNEE), "shoulders_over_hips"),
    ],
)
def test_counts_from_the_body_parts_in_view_and_says_which(
    exercise: Exercise, hidden: tuple[int, ...], signal: str
) -> None:
    pose, period = POSES[exercise]
    frames = sk.degrade(sk.cycles(pose, reps=6, period_s=period), seed=4, noise_px=1.5)
    result = run_hidden(make_counter(exercise), frames, hidden).result
    assert result.count == 6
    assert result.signal == signal
    assert result.quality.ok, result.quality


def test_the_preferred_signal_is_named_when_everything_is_seen() -> None:
    pose, period = POSES[Exercise.SQUAT]
    frames = sk.degrade(sk.cycles(pose, reps=3, period_s=period), seed=4, noise_px=1.5)
    result = run(make_counter(Exercise.SQUAT), frames).result
    assert result.signal == "hips_over_ankles" and result.quality.ok
    assert all(0.9 <= r.confidence <= 1.0 for r in result.reps)


def test_no_signal_in_view_is_a_quality_reason_not_a_silent_zero() -> None:
    # Only the head and shoulders: no torso length, nothing a squat can be measured from.
    pose, period = POSES[Exercise.SQUAT]
    frames = sk.degrade(sk.cycles(pose, reps=4, period_s=period), seed=4, noise_px=1.5)
    below = (ft.L_HIP, ft.R_HIP, *FEET)
    result = run_hidden(make_counter(Exercise.SQUAT), frames, below).result
    assert result.count == 0
    assert result.quality.reasons == (QualityReason.BODY_PARTS_HIDDEN,)
    assert "hips_over_ankles" in result.quality.detail


def test_nobody_and_a_lost_person_are_quality_reasons() -> None:
    nobody = run(make_counter(Exercise.PUSH_UP), [None] * 90).result
    assert nobody.quality.reasons == (QualityReason.NO_PERSON,)
    pose, period = POSES[Exercise.PUSH_UP]
    frames = sk.degrade(sk.cycles(pose, reps=5, period_s=period), seed=5, noise_px=1.0)
    gap = round(2.5 * sk.FPS)
    frames[60 : 60 + gap] = [None] * gap  # gone for 2.5 s: reps may have been missed
    lost = run(make_counter(Exercise.PUSH_UP), frames).result
    assert QualityReason.PERSON_LOST in lost.quality.reasons
    assert "longest gap 2.5 s" in lost.quality.detail


def test_a_set_that_ends_at_the_top_of_a_pull_up_counts_that_rep() -> None:
    pose, period = POSES[Exercise.PULL_UP]
    per = round(period * sk.FPS)
    joints = list(sk.cycles(pose, reps=3, period_s=period, lead_s=1.0))
    # Cut the clip at the top of the third rep (chin over the bar), before the way down.
    frames = sk.degrade(iter(joints[: round(sk.FPS) + 2 * per + per // 2 + 2]), seed=3)
    counter = make_counter(Exercise.PULL_UP)
    assert run(counter, frames).result.count == 2
    assert [r.frame for r in counter.finish()] and counter.result.count == 3
    # Half way up is not a rep, set end or not.
    half = sk.degrade(iter(joints[: round(sk.FPS) + 2 * per + per // 4]), seed=3)
    counter = make_counter(Exercise.PULL_UP)
    run(counter, half)
    assert counter.finish() == [] and counter.result.count == 2


def test_rep_confidence_falls_with_poorly_seen_body_parts() -> None:
    pose, period = POSES[Exercise.PUSH_UP]
    frames = sk.degrade(sk.cycles(pose, reps=4, period_s=period), seed=6, noise_px=1.0)
    vis = sk.visibility()
    vis[[ft.L_WRIST, ft.R_WRIST]] = 0.45  # seen, but barely
    counter = make_counter(Exercise.PUSH_UP)
    for i, k in enumerate(frames):
        counter.update(i, i / sk.FPS, k, vis if k is not None else None)
    confidences = [r.confidence for r in counter.result.reps]
    assert len(confidences) == 4 and all(0.3 <= c <= 0.5 for c in confidences)


@pytest.mark.parametrize("exercise", [Exercise.SQUAT, Exercise.PUSH_UP, Exercise.SIT_UP])
def test_a_video_turned_on_its_side_is_said_to_be_rotated(exercise: Exercise) -> None:
    pose, period = POSES[exercise]
    frames = sk.degrade(sk.cycles(pose, reps=4, period_s=period), seed=8, noise_px=1.0)
    upright = run(make_counter(exercise), frames).result
    assert upright.quality.ok and upright.count == 4
    # The same frames turned a quarter (x, y) -> (y, -x), as a phone on its side films them.
    turned = [None if k is None else k[:, [1, 0, 2]] * np.float32([1.0, -1.0, 1.0]) for k in frames]
    result = run(make_counter(exercise), turned).result
    assert QualityReason.ROTATED in result.quality.reasons
    assert "turn the video upright" in result.quality.detail
