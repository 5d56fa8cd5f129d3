"""Body-size-normalised 1-D signals from keypoints, one per exercise, that rise and fall per rep."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

# BlazePose keypoint indices (33-point topology).
NOSE = 0
L_SHOULDER, R_SHOULDER = 11, 12
L_ELBOW, R_ELBOW = 13, 14
L_WRIST, R_WRIST = 15, 16
L_HIP, R_HIP = 23, 24
L_KNEE, R_KNEE = 25, 26
L_ANKLE, R_ANKLE = 27, 28
L_HEEL, R_HEEL = 29, 30
L_FOOT, R_FOOT = 31, 32

# A keypoint below this visibility is not used; a signal needing it is missing for the frame.
MIN_VISIBILITY = 0.3


def _mid(k: FloatArray, v: FloatArray, a: int, b: int) -> npt.NDArray[np.float64] | None:
    """Midpoint of a left/right pair, or the one side that is visible."""
    ok_a, ok_b = v[a] >= MIN_VISIBILITY, v[b] >= MIN_VISIBILITY
    if ok_a and ok_b:
        return np.asarray((k[a, :2] + k[b, :2]) / 2.0, dtype=np.float64)
    if ok_a or ok_b:
        return np.asarray(k[a if ok_a else b, :2], dtype=np.float64)
    return None


def torso_length(k: FloatArray, v: FloatArray) -> float:
    """Shoulder-centre to hip-centre distance in pixels: the body-size unit (NaN if unseen)."""
    shoulders = _mid(k, v, L_SHOULDER, R_SHOULDER)
    hips = _mid(k, v, L_HIP, R_HIP)
    if shoulders is None or hips is None:
        return math.nan
    return float(np.hypot(*(shoulders - hips)))


def _tilt(k: FloatArray, v: FloatArray, lower: tuple[int, int], upper: tuple[int, int]) -> float:
    a = _mid(k, v, *upper)
    b = _mid(k, v, *lower)
    if a is None or b is None:
        return math.nan
    dx, dy = a - b
    if abs(dx) + abs(dy) < 1e-6:
        return math.nan
    return math.degrees(math.atan2(abs(float(dx)), abs(float(dy))))


def torso_tilt(k: FloatArray, v: FloatArray) -> float:
    """Angle of the hips-to-shoulders line from the image's vertical, 0..90 degrees."""
    return _tilt(k, v, (L_HIP, R_HIP), (L_SHOULDER, R_SHOULDER))


def legs_tilt(k: FloatArray, v: FloatArray) -> float:
    """Angle of the ankles-to-hips line from the image's vertical, 0..90 degrees."""
    return _tilt(k, v, (L_ANKLE, R_ANKLE), (L_HIP, R_HIP))


def _angle(k: FloatArray, a: int, b: int, c: int) -> float:
    """Angle at b between b->a and b->c in degrees (image plane)."""
    u = k[a, :2] - k[b, :2]
    w = k[c, :2] - k[b, :2]
    norm = float(np.hypot(*u) * np.hypot(*w))
    if norm <= 1e-6:
        return math.nan
    cos = float(np.dot(u, w)) / norm
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def side_angle(
    k: FloatArray, v: FloatArray, left: tuple[int, int, int], right: tuple[int, int, int]
) -> float:
    """The joint angle on the better-seen side (a side view hides the far limb)."""
    score_l = float(min(v[i] for i in left))
    score_r = float(min(v[i] for i in right))
    if max(score_l, score_r) < MIN_VISIBILITY:
        return math.nan
    if abs(score_l - score_r) < 0.1:
        return (_angle(k, *left) + _angle(k, *right)) / 2.0
    return _angle(k, *(left if score_l > score_r else right))


def hip_height(k: FloatArray, v: FloatArray, unit: float) -> float:
    """Height of the hips above the ankles in body units (image y grows downwards)."""
    hips = _mid(k, v, L_HIP, R_HIP)
    ankles = _mid(k, v, L_ANKLE, R_ANKLE)
    if hips is None or ankles is None:
        return math.nan
    return float(ankles[1] - hips[1]) / unit


def body_height(k: FloatArray, v: FloatArray, unit: float) -> float:
    """Minus the mean height of shoulders and hips in body units: rises with every jump."""
    shoulders = _mid(k, v, L_SHOULDER, R_SHOULDER)
    hips = _mid(k, v, L_HIP, R_HIP)
    if shoulders is None or hips is None:
        return math.nan
    return -float(shoulders[1] + hips[1]) / 2.0 / unit


def wrists_over_shoulders(k: FloatArray, v: FloatArray, unit: float) -> float:
    """Height of the wrists above the shoulders in body units: about -1 arms down, +1 overhead."""
    shoulders = _mid(k, v, L_SHOULDER, R_SHOULDER)
    wrists = _mid(k, v, L_WRIST, R_WRIST)
    if shoulders is None or wrists is None:
        return math.nan
    return float(shoulders[1] - wrists[1]) / unit


def shoulders_over_wrists(k: FloatArray, v: FloatArray, unit: float) -> float:
    """Height of the shoulders above the wrists in body units (push-up and pull-up depth)."""
    return -wrists_over_shoulders(k, v, unit)


def shoulders_over_elbows(k: FloatArray, v: FloatArray, unit: float) -> float:
    """Height of the shoulders above the elbows in body units (a push-up with the hands hidden)."""
    shoulders = _mid(k, v, L_SHOULDER, R_SHOULDER)
    elbows = _mid(k, v, L_ELBOW, R_ELBOW)
    if shoulders is None or elbows is None:
        return math.nan
    return float(elbows[1] - shoulders[1]) / unit


def elbows_over_shoulders(k: FloatArray, v: FloatArray, unit: float) -> float:
    """Height of the elbows above the shoulders in body units (a jack with the hands hidden)."""
    return -shoulders_over_elbows(k, v, unit)


def shoulders_over_hips(k: FloatArray, v: FloatArray, unit: float) -> float:
    """Height of the shoulders above the hips in body units: about 0 lying, 1 sitting up."""
    shoulders = _mid(k, v, L_SHOULDER, R_SHOULDER)
    hips = _mid(k, v, L_HIP, R_HIP)
    if shoulders is None or hips is None:
        return math.nan
    return float(hips[1] - shoulders[1]) / unit


def elbow_angle(k: FloatArray, v: FloatArray) -> float:
    return side_angle(k, v, (L_SHOULDER, L_ELBOW, L_WRIST), (R_SHOULDER, R_ELBOW, R_WRIST))


def hip_angle(k: FloatArray, v: FloatArray) -> float:
    return side_angle(k, v, (L_SHOULDER, L_HIP, L_KNEE), (R_SHOULDER, R_HIP, R_KNEE))


def knee_angle(k: FloatArray, v: FloatArray) -> float:
    return side_angle(k, v, (L_HIP, L_KNEE, L_ANKLE), (R_HIP, R_KNEE, R_ANKLE))
