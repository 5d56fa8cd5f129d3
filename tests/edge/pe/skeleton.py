"""Synthetic 33-point keypoint sequences with known repetition counts, for counter tests."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.pe import features as ft

FloatArray = npt.NDArray[np.float32]
Joints = dict[str, tuple[float, float]]
FPS = 30.0
TORSO = 100.0  # pixels


def _to_keypoints(j: Joints) -> FloatArray:
    k = np.zeros((33, 3), dtype=np.float32)
    names = {
        ft.NOSE: "nose",
        ft.L_SHOULDER: "l_sh",
        ft.R_SHOULDER: "r_sh",
        ft.L_ELBOW: "l_el",
        ft.R_ELBOW: "r_el",
        ft.L_WRIST: "l_wr",
        ft.R_WRIST: "r_wr",
        ft.L_HIP: "l_hip",
        ft.R_HIP: "r_hip",
        ft.L_KNEE: "l_kn",
        ft.R_KNEE: "r_kn",
        ft.L_ANKLE: "l_an",
        ft.R_ANKLE: "r_an",
    }
    for index, name in names.items():
        k[index, :2] = j[name]
    for index in range(1, 11):  # eyes, ears, mouth sit around the nose
        k[index, :2] = (j["nose"][0] + (index - 5) * 2.0, j["nose"][1] - 3.0)
    for index in (17, 19, 21):
        k[index, :2] = j["l_wr"]
    for index in (18, 20, 22):
        k[index, :2] = j["r_wr"]
    k[ft.L_HEEL, :2] = (j["l_an"][0] - 5, j["l_an"][1] + 5)
    k[ft.R_HEEL, :2] = (j["r_an"][0] + 5, j["r_an"][1] + 5)
    k[ft.L_FOOT, :2] = (j["l_an"][0] - 15, j["l_an"][1] + 8)
    k[ft.R_FOOT, :2] = (j["r_an"][0] + 15, j["r_an"][1] + 8)
    return k


def standing(
    phase_lift: float = 0.0,
    *,
    arms_up: float = 0.0,
    hip_drop: float = 0.0,
    feet_apart: float = 0.0,
    lift_l: float = 0.0,
    lift_r: float = 0.0,
) -> Joints:
    """A person facing the camera; all offsets are in torso lengths (image y grows down)."""
    t = TORSO
    floor = 600.0 - phase_lift * t
    an_y_l, an_y_r = floor - lift_l * t, floor - lift_r * t
    hip_y = floor - 1.7 * t + hip_drop * t
    sh_y = hip_y - t
    cx = 400.0
    knee_out = 0.25 * t * hip_drop
    swing = math.pi * (0.05 + 0.9 * arms_up)  # 0 = hanging, pi = overhead
    arm = 0.6 * t
    j: Joints = {"nose": (cx, sh_y - 0.45 * t)}
    for side, s in (("l", -1.0), ("r", 1.0)):
        sh = (cx + s * 0.35 * t, sh_y)
        el = (sh[0] + s * arm * math.sin(swing), sh[1] + arm * math.cos(swing))
        wr = (el[0] + s * arm * math.sin(swing), el[1] + arm * math.cos(swing))
        hip = (cx + s * 0.2 * t, hip_y)
        an = (cx + s * (0.2 + feet_apart) * t, an_y_l if s < 0 else an_y_r)
        kn = ((hip[0] + an[0]) / 2 + s * knee_out, (hip[1] + an[1]) / 2)
        j.update(
            {
                f"{side}_sh": sh,
                f"{side}_el": el,
                f"{side}_wr": wr,
                f"{side}_hip": hip,
                f"{side}_kn": kn,
                f"{side}_an": an,
            }
        )
    return j


def push_up(depth: float) -> Joints:
    """Side view of a push-up; depth 0 = arms straight, 1 = chest near the floor."""
    t = TORSO
    floor = 600.0
    wr_x = 300.0
    sh_y = floor - (1.1 - 0.8 * depth) * t
    hip = (wr_x + 1.0 * t, sh_y + 0.2 * t)
    an = (wr_x + 2.6 * t, floor - 0.1 * t)
    el = (wr_x + 0.3 * t * depth, (sh_y + floor) / 2)
    j: Joints = {"nose": (wr_x - 0.4 * t, sh_y - 0.1 * t)}
    for side in ("l", "r"):
        j.update(
            {
                f"{side}_sh": (wr_x, sh_y),
                f"{side}_el": el,
                f"{side}_wr": (wr_x, floor),
                f"{side}_hip": hip,
                f"{side}_kn": ((hip[0] + an[0]) / 2, (hip[1] + an[1]) / 2),
                f"{side}_an": an,
            }
        )
    return j


def sit_up(rise: float) -> Joints:
    """Side view; rise 0 = lying back, 1 = torso up to the knees."""
    t = TORSO
    hip = (400.0, 600.0)
    kn = (hip[0] + 0.9 * t, hip[1] - 0.6 * t)
    an = (hip[0] + 1.7 * t, hip[1])
    angle = math.radians(170 - 115 * rise)  # between torso and the floor behind the hips
    sh = (hip[0] + t * math.cos(angle), hip[1] - t * math.sin(angle))
    j: Joints = {"nose": (sh[0] + 0.3 * t * math.cos(angle), sh[1] - 0.3 * t * math.sin(angle))}
    for side in ("l", "r"):
        j.update(
            {
                f"{side}_sh": sh,
                f"{side}_el": (sh[0] + 0.3 * t, sh[1] - 0.1 * t),
                f"{side}_wr": (sh[0] + 0.6 * t, sh[1] - 0.2 * t),
                f"{side}_hip": hip,
                f"{side}_kn": kn,
                f"{side}_an": an,
            }
        )
    return j


def pull_up(rise: float) -> Joints:
    """Front view hanging from a bar; rise 0 = arms straight, 1 = chin over the bar."""
    t = TORSO
    bar = 200.0
    sh_y = bar + (1.2 - 1.1 * rise) * t
    j = standing()
    shift = sh_y - j["l_sh"][1]
    moved: Joints = {k: (x, y + shift) for k, (x, y) in j.items()}
    for side, s in (("l", -1.0), ("r", 1.0)):
        wr = (400.0 + s * 0.5 * t, bar)
        sh = moved[f"{side}_sh"]
        moved[f"{side}_wr"] = wr
        moved[f"{side}_el"] = ((sh[0] + wr[0]) / 2 + s * 0.3 * t * rise, (sh[1] + wr[1]) / 2)
    return moved


@dataclass
class Sequence:
    """Frames of keypoints (None = no pose found) with the true repetition count."""

    frames: list[FloatArray | None]
    count: int


def cycles(
    pose: Callable[[float], Joints],
    *,
    reps: int,
    period_s: float,
    amplitudes: list[float] | None = None,
    pause_after: int | None = None,
    pause_s: float = 0.0,
    lead_s: float = 1.0,
) -> Iterator[Joints]:
    """Joint positions for `reps` smooth cycles 0 -> amplitude -> 0, with still lead-in/out."""
    amps = amplitudes or [1.0] * reps
    still = round(lead_s * FPS)
    yield from (pose(0.0) for _ in range(still))
    per = round(period_s * FPS)
    for rep, amp in enumerate(amps):
        for i in range(per):
            yield pose(amp * (0.5 - 0.5 * math.cos(2 * math.pi * i / per)))
        if pause_after is not None and rep == pause_after:
            yield from (pose(0.0) for _ in range(round(pause_s * FPS)))
    yield from (pose(0.0) for _ in range(still))


def degrade(
    joints: Iterator[Joints], *, seed: int, noise_px: float = 2.0, miss_rate: float = 0.0
) -> list[FloatArray | None]:
    """Add Gaussian keypoint noise and drop random frames (missed detections)."""
    rng = np.random.default_rng(seed)
    out: list[FloatArray | None] = []
    for j in joints:
        if rng.random() < miss_rate:
            out.append(None)
            continue
        k = _to_keypoints(j)
        k[:, :2] += rng.normal(0.0, noise_px, size=(33, 2)).astype(np.float32)
        out.append(k)
    return out


def visibility() -> FloatArray:
    return np.full(33, 0.95, dtype=np.float32)
