"""Synthetic exercise clips drawn with OpenCV: a figure doing jumping jacks at a known rate.

Used by the pose benchmark (a clip it can make anywhere, with no third-party footage) and by
tests that run the whole pipeline end to end.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]
Point = tuple[int, int]

SKIN = (140, 170, 215)
SHIRT = (60, 60, 200)
TROUSERS = (90, 60, 30)
FLOOR = (170, 180, 185)
WALL = (225, 225, 220)


def _limb(img: Frame, a: Point, b: Point, width: int, colour: tuple[int, int, int]) -> None:
    cv2.line(img, a, b, colour, width, cv2.LINE_AA)
    cv2.circle(img, a, width // 2, colour, -1, cv2.LINE_AA)
    cv2.circle(img, b, width // 2, colour, -1, cv2.LINE_AA)


def _at(x: float, y: float) -> Point:
    return (round(x), round(y))


def draw_jack(width: int, height: int, phase: float) -> Frame:
    """A person seen from the front; phase 0 = arms down, feet together; 0.5 = arms overhead."""
    img = np.full((height, width, 3), WALL, dtype=np.uint8)
    img[int(height * 0.82) :] = FLOOR
    open_ = 0.5 - 0.5 * math.cos(2 * math.pi * phase)  # 0 closed .. 1 open
    unit = height / 10.5  # head height; the raised hands stay inside the frame
    cx = width / 2.0
    hop = unit * 0.25 * math.sin(math.pi * open_)  # a small jump between the two positions
    feet_y = height * 0.92 - hop
    hip_y = feet_y - 3.6 * unit
    shoulder_y = hip_y - 2.6 * unit
    head_y = shoulder_y - 0.9 * unit
    half_hip, half_sh = 0.55 * unit, 0.9 * unit
    foot_dx = 0.5 * unit + 1.4 * unit * open_
    knee_y = (hip_y + feet_y) / 2.0
    for side in (-1, 1):
        hip = _at(cx + side * half_hip, hip_y)
        foot = _at(cx + side * foot_dx, feet_y)
        knee = _at(cx + side * (half_hip + foot_dx) / 2.0, knee_y)
        _limb(img, hip, knee, int(0.55 * unit), TROUSERS)
        _limb(img, knee, foot, int(0.45 * unit), TROUSERS)
        cv2.ellipse(
            img,
            _at(cx + side * (foot_dx + 0.2 * unit), feet_y + 0.15 * unit),
            (int(0.4 * unit), int(0.18 * unit)),
            0,
            0,
            360,
            (40, 40, 40),
            -1,
        )
    torso = np.array(
        [
            _at(cx - half_sh, shoulder_y),
            _at(cx + half_sh, shoulder_y),
            _at(cx + half_hip + 0.1 * unit, hip_y + 0.2 * unit),
            _at(cx - half_hip - 0.1 * unit, hip_y + 0.2 * unit),
        ],
        dtype=np.int32,
    )
    cv2.fillConvexPoly(img, torso, SHIRT, cv2.LINE_AA)
    # Arms swing from hanging (angle 0) to overhead (angle ~170 degrees) about the shoulder.
    swing = math.radians(10 + 160 * open_)
    arm = 1.4 * unit
    for side in (-1, 1):
        shoulder = (cx + side * half_sh, shoulder_y + 0.15 * unit)
        elbow = (shoulder[0] + side * arm * math.sin(swing), shoulder[1] + arm * math.cos(swing))
        hand = (
            elbow[0] + side * arm * math.sin(swing * 1.05),
            elbow[1] + arm * math.cos(swing * 1.05),
        )
        _limb(img, _at(*shoulder), _at(*elbow), int(0.4 * unit), SHIRT)
        _limb(img, _at(*elbow), _at(*hand), int(0.32 * unit), SKIN)
        cv2.circle(img, _at(*hand), int(0.22 * unit), SKIN, -1, cv2.LINE_AA)
    _limb(img, _at(cx, shoulder_y), _at(cx, head_y + 0.3 * unit), int(0.35 * unit), SKIN)
    cv2.ellipse(
        img, _at(cx, head_y), (int(0.42 * unit), int(0.55 * unit)), 0, 0, 360, SKIN, -1, cv2.LINE_AA
    )
    cv2.ellipse(
        img,
        _at(cx, head_y - 0.3 * unit),
        (int(0.44 * unit), int(0.3 * unit)),
        0,
        180,
        360,
        (30, 30, 30),
        -1,
        cv2.LINE_AA,
    )
    for side in (-1, 1):
        cv2.circle(
            img,
            _at(cx + side * 0.16 * unit, head_y - 0.05 * unit),
            max(1, int(unit / 16)),
            (20, 20, 20),
            -1,
            cv2.LINE_AA,
        )
    return img


def write_jacks_clip(
    path: Path,
    *,
    width: int = 640,
    height: int = 360,
    fps: float = 30.0,
    reps: int = 6,
    rep_s: float = 1.2,
    lead_s: float = 0.5,
) -> int:
    """Write an MJPEG .avi of *reps* jumping jacks after a still lead-in; returns frame count."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path}")
    total = round((2 * lead_s + reps * rep_s) * fps)
    try:
        for i in range(total):
            t = i / fps - lead_s
            phase = (t / rep_s) if 0 <= t <= reps * rep_s else 0.0
            writer.write(draw_jack(width, height, phase % 1.0))
    finally:
        writer.release()
    return total
