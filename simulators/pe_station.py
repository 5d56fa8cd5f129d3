"""A simulated PE-station camera: a synthetic video file of a figure doing jumping jacks."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np


def _figure(frame: np.ndarray, t: float, w: int, h: int) -> None:
    phase = (math.sin(2 * math.pi * t) + 1) / 2  # one jumping jack per second
    cx, hip, shoulder = w // 2, int(h * 0.6), int(h * 0.35)
    white = (255, 255, 255)
    cv2.circle(frame, (cx, int(h * 0.25)), int(h * 0.06), white, -1)
    cv2.line(frame, (cx, shoulder), (cx, hip), white, 6)
    arm = int(h * 0.22)
    for side in (-1, 1):
        angle = math.radians(20 + 140 * phase)
        cv2.line(frame, (cx, shoulder), (cx + side * int(arm * math.sin(angle)),
                                         shoulder - int(arm * math.cos(angle))), white, 5)
        spread = int(h * (0.05 + 0.12 * phase))
        cv2.line(frame, (cx, hip), (cx + side * spread, int(h * 0.9)), white, 6)


def write_video(path: Path, seconds: float = 2.0, fps: int = 30, width: int = 320,
                height: int = 240) -> int:
    """Write an MJPG AVI of the figure; the number of frames written."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path}")
    n = int(seconds * fps)
    for i in range(n):
        frame = np.zeros((height, width, 3), dtype=np.uint8)
        _figure(frame, i / fps, width, height)
        writer.write(frame)
    writer.release()
    return n
