"""Person regions: rotated square crops of a frame and the affine maps in and out of them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.pe.model import INPUT_SIZE

FloatArray = npt.NDArray[np.float32]
# MediaPipe grows the box spanned by the alignment points by this factor before cropping.
ALIGN_SCALE_FACTOR = 1.25


@dataclass(frozen=True)
class Roi:
    """A square region: centre (frame pixels), side length (pixels) and rotation (radians).

    The rotation turns the body so that it stands upright in the crop, which is how the
    landmark model was trained; a person lying down (push-up, sit-up) still gets an upright crop.
    """

    cx: float
    cy: float
    size: float
    rotation: float = 0.0

    def to_crop(self) -> npt.NDArray[np.float64]:
        """2x3 affine matrix from frame pixels to crop pixels."""
        scale = INPUT_SIZE / self.size
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        a = np.array([[c, -s], [s, c]]) * scale
        b = np.array([INPUT_SIZE / 2, INPUT_SIZE / 2]) - a @ np.array([self.cx, self.cy])
        return np.hstack([a, b[:, None]])

    def crop(self, frame_bgr: npt.NDArray[np.uint8]) -> FloatArray:
        """The model input: RGB float32 in [0, 1], zero padding outside the frame."""
        patch = cv2.warpAffine(
            frame_bgr,
            self.to_crop(),
            (INPUT_SIZE, INPUT_SIZE),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
        )
        rgb = cv2.cvtColor(patch, cv2.COLOR_BGR2RGB)
        return np.asarray(rgb, dtype=np.float32) * np.float32(1.0 / 255.0)

    def to_frame(self, points: FloatArray) -> FloatArray:
        """Map (n, 3) crop points (x, y, z) back to frame pixels; z is scaled like x and y."""
        m = self.to_crop()
        inv = np.linalg.inv(m[:, :2])
        xy = (points[:, :2] - m[:, 2]) @ inv.T
        z = points[:, 2:3] * (self.size / INPUT_SIZE)
        return np.hstack([xy, z]).astype(np.float32)


def whole_frame(width: int, height: int) -> Roi:
    """The whole frame letterboxed into a square, upright."""
    return Roi(width / 2.0, height / 2.0, float(max(width, height)), 0.0)


def from_box(x: float, y: float, w: float, h: float, margin: float = 1.3) -> Roi:
    """An upright square around a person box (e.g. from a people detector)."""
    return Roi(x + w / 2.0, y + h / 2.0, max(w, h) * margin, 0.0)


def from_alignment(center: FloatArray, scale_point: FloatArray) -> Roi:
    """The next crop from the alignment points, as MediaPipe places it."""
    dx = float(scale_point[0] - center[0])
    dy = float(scale_point[1] - center[1])
    radius = math.hypot(dx, dy)
    # Rotate so that the centre -> scale-point direction points straight up in the crop.
    rotation = -math.pi / 2 - math.atan2(dy, dx)
    rotation = (rotation + math.pi) % (2 * math.pi) - math.pi
    return Roi(float(center[0]), float(center[1]), 2.0 * radius * ALIGN_SCALE_FACTOR, rotation)
