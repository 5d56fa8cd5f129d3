"""The BlazePose person detector: every person in a frame, with the two points that place a crop.

The model (`pose_detection.onnx`, model card `models/pose_detection.md`) is an SSD detector
over 2254 fixed anchors on a 224x224 letterboxed frame. Each anchor regresses a box and four
keypoints, of which the first two — the hip centre and a point whose distance and direction
give the body's size and rotation — are the same alignment points the landmark model returns,
so a detection becomes a landmark crop exactly as a tracked pose does. Decoding constants are
those of MediaPipe's pose detection graph (SSD anchor options and tensors-to-detections
options of `pose_detection_cpu.pbtxt`, mediapipe 0.10.14).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from campusedge.paths import models_dir
from edge.pe.model import open_session
from edge.pe.roi import Roi, from_alignment

FloatArray = npt.NDArray[np.float32]
Frame = npt.NDArray[np.uint8]

DETECTOR_FILE = "pose_detection.onnx"
INPUT_SIZE = 224
NUM_ANCHORS = 2254
NUM_COORDS = 12  # box centre x, y, width, height, then four keypoints x, y
# SSD anchors of the pose detection graph: five layers at these strides (the last three share
# one grid), two anchors of a fixed unit size per cell and layer.
STRIDES = (8, 16, 32, 32, 32)
ANCHORS_PER_LAYER = 2
MIN_SCORE = 0.5
NMS_IOU = 0.3
SCORE_CLIP = 80.0  # exp() of more overflows float32


@dataclass(frozen=True)
class Detection:
    """One person found in a frame (frame pixels)."""

    score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    center: FloatArray  # (2,) hip centre
    scale_point: FloatArray  # (2,)

    @property
    def roi(self) -> Roi:
        """The landmark model's crop for this person."""
        return from_alignment(self.center, self.scale_point)

    @property
    def cx(self) -> float:
        return float(self.center[0])


def ssd_anchors() -> FloatArray:
    """Anchor centres (n, 2) in [0, 1] input coordinates, in the model's output order."""
    centres: list[tuple[float, float]] = []
    layer = 0
    while layer < len(STRIDES):
        stride = STRIDES[layer]
        # Consecutive layers with the same stride share one grid: their anchors interleave.
        same = 1
        while layer + same < len(STRIDES) and STRIDES[layer + same] == stride:
            same += 1
        cells = -(-INPUT_SIZE // stride)  # ceil
        for y in range(cells):
            for x in range(cells):
                centre = ((x + 0.5) / cells, (y + 0.5) / cells)
                centres.extend([centre] * (ANCHORS_PER_LAYER * same))
        layer += same
    return np.asarray(centres, dtype=np.float32)


def _iou(a: FloatArray, boxes: FloatArray) -> FloatArray:
    x0 = np.maximum(a[0], boxes[:, 0])
    y0 = np.maximum(a[1], boxes[:, 1])
    x1 = np.minimum(a[2], boxes[:, 2])
    y1 = np.minimum(a[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return np.asarray(inter / np.maximum(area_a + areas - inter, 1e-9), dtype=np.float32)


def weighted_nms(
    scores: FloatArray, boxes: FloatArray, points: FloatArray, iou: float = NMS_IOU
) -> list[tuple[float, FloatArray, FloatArray]]:
    """Merge overlapping candidates into one detection each, averaging their boxes and points
    weighted by score (steadier than keeping the single best anchor from frame to frame)."""
    order = np.argsort(-scores)
    left = order
    merged: list[tuple[float, FloatArray, FloatArray]] = []
    while left.size:
        best = left[0]
        overlap = _iou(boxes[best], boxes[left])
        group = left[overlap >= iou]
        weights = scores[group][:, None]
        total = float(weights.sum())
        box = np.asarray((boxes[group] * weights).sum(axis=0) / total, dtype=np.float32)
        pts = np.asarray(
            (points[group] * weights[:, :, None]).sum(axis=0) / total, dtype=np.float32
        )
        merged.append((float(scores[best]), box, pts))
        left = left[overlap < iou]
    return merged


def _tile_starts(length: int, side: int) -> list[int]:
    """Offsets of squares of *side* covering *length*, each overlapping the next by half."""
    step = max(1, side // 2)
    starts = list(range(0, max(1, length - side + 1), step))
    if starts[-1] + side < length:
        starts.append(length - side)
    return starts


def merge_overlapping(found: list[Detection], iou: float = NMS_IOU) -> list[Detection]:
    """One detection per person when overlapping tiles both saw them: the surest is kept."""
    kept: list[Detection] = []
    for det in sorted(found, key=lambda d: -d.score):
        box = np.asarray(det.box, dtype=np.float32)
        if kept and float(_iou(box, np.asarray([k.box for k in kept], np.float32)).max()) >= iou:
            continue
        kept.append(det)
    return kept


class PersonDetector:
    """One onnxruntime session over the detector; not shared between threads."""

    def __init__(
        self, path: Path | None = None, threads: int = 1, min_score: float = MIN_SCORE
    ) -> None:
        self.path = path or models_dir() / DETECTOR_FILE
        self._session, self._input = open_session(self.path, threads, "person detector", INPUT_SIZE)
        self._outputs = [o.name for o in self._session.get_outputs()][:2]
        self.min_score = min_score
        self._anchors = ssd_anchors()

    def detect(self, frame: Frame) -> list[Detection]:
        """Everyone the detector finds in *frame*, most certain first.

        The detector sees its input at 224x224 and was made for one person filling much of a
        phone's frame: a wide frame with a row of students is searched in squares as tall as
        the frame, each overlapping the next by half, and what two squares both found is merged.
        """
        height, width = frame.shape[:2]
        side = min(height, width)
        starts = [0] if side == max(height, width) else _tile_starts(max(height, width), side)
        found: list[Detection] = []
        for start in starts:
            if width >= height:
                found += self.detect_in(frame[:, start : start + side], offset=(start, 0))
            else:
                found += self.detect_in(frame[start : start + side], offset=(0, start))
        return merge_overlapping(found)

    def detect_in(self, frame: Frame, offset: tuple[int, int] = (0, 0)) -> list[Detection]:
        """Detections in one image (letterboxed whole), in the coordinates of its parent."""
        height, width = frame.shape[:2]
        # Letterbox: the whole frame, aspect kept, centred on a black square.
        scale = INPUT_SIZE / max(height, width)
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        pad_x, pad_y = (INPUT_SIZE - new_w) / 2.0, (INPUT_SIZE - new_h) / 2.0
        square = np.zeros((INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
        x0, y0 = int(pad_x), int(pad_y)
        square[y0 : y0 + new_h, x0 : x0 + new_w] = cv2.resize(frame, (new_w, new_h))
        rgb = cv2.cvtColor(square, cv2.COLOR_BGR2RGB).astype(np.float32)
        tensor = rgb * np.float32(2.0 / 255.0) - np.float32(1.0)  # the detector wants [-1, 1]
        raw_boxes, raw_scores = self._session.run(self._outputs, {self._input: tensor[None]})
        regress = np.asarray(raw_boxes, dtype=np.float32).reshape(NUM_ANCHORS, NUM_COORDS)
        logits = np.asarray(raw_scores, dtype=np.float32).reshape(NUM_ANCHORS)
        scores = np.asarray(
            1.0 / (1.0 + np.exp(-np.clip(logits, -SCORE_CLIP, SCORE_CLIP))), dtype=np.float32
        )
        keep = np.flatnonzero(scores >= self.min_score)
        if keep.size == 0:
            return []
        anchors = self._anchors[keep]
        reg = regress[keep] / INPUT_SIZE  # anchors have unit size: offsets are input fractions
        centre = reg[:, 0:2] + anchors
        half = reg[:, 2:4] / 2.0
        boxes = np.asarray(np.hstack([centre - half, centre + half]), dtype=np.float32)
        points = np.asarray(reg[:, 4:12].reshape(-1, 4, 2) + anchors[:, None, :], np.float32)

        def to_frame(xy: FloatArray) -> FloatArray:
            local = (xy * INPUT_SIZE - (x0, y0)) / scale
            return np.asarray(local + offset, dtype=np.float32)

        found: list[Detection] = []
        for score, box, pts in weighted_nms(scores[keep], boxes, points):
            corners = to_frame(box.reshape(2, 2)).reshape(4)
            frame_pts = to_frame(pts)
            found.append(
                Detection(
                    score,
                    (float(corners[0]), float(corners[1]), float(corners[2]), float(corners[3])),
                    frame_pts[0],
                    frame_pts[1],
                )
            )
        return found
