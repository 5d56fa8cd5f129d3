"""Per-frame pose: where the person is (tracked, or found again when lost) and their keypoints."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.pe.model import ALIGN_CENTER, ALIGN_SCALE, NUM_KEYPOINTS, PoseModel
from edge.pe.roi import Roi, from_alignment, from_box, whole_frame
from edge.pe.smoothing import OneEuroFilter

FloatArray = npt.NDArray[np.float32]
Frame = npt.NDArray[np.uint8]

# Below this presence probability the crop holds no person and tracking has lost them.
PRESENCE_THRESHOLD = 0.5
# While nobody is tracked, every n-th frame tries all search regions and keeps the one where
# the model is surest a person is; the frames between are skipped, so an empty scene costs
# about as much as tracking. The slow HOG detector (where OpenCV has it) joins that search.
SEARCH_EVERY = 3
DETECTOR_WIDTH = 480
# Landmark runs at most to settle a crop given by a detector (see `PoseTracker._settle`).
SETTLE_RUNS = 8


@dataclass(frozen=True)
class Pose:
    """33 body keypoints in frame pixels for one frame."""

    keypoints: FloatArray  # (33, 3): x, y, z (z in pixels, relative to the hips)
    visibility: FloatArray  # (33,)
    presence: float
    roi: Roi


class PeopleDetector:
    """OpenCV's HOG people detector, where the installed OpenCV has it (4.x; 5.0 dropped it)."""

    def __init__(self) -> None:
        hog_type = getattr(cv2, "HOGDescriptor", None)
        if hog_type is None:
            raise RuntimeError("this OpenCV build has no HOG people detector")
        self._hog = hog_type()
        self._hog.setSVMDetector(hog_type.getDefaultPeopleDetector())

    @staticmethod
    def available() -> bool:
        return hasattr(cv2, "HOGDescriptor")

    def largest(self, frame: Frame) -> tuple[float, float, float, float] | None:
        width = frame.shape[1]
        scale = min(1.0, DETECTOR_WIDTH / max(width, 1))
        small = cv2.resize(frame, None, fx=scale, fy=scale) if scale < 1.0 else frame
        boxes, _ = self._hog.detectMultiScale(small, winStride=(8, 8), padding=(8, 8), scale=1.05)
        if len(boxes) == 0:
            return None
        x, y, w, h = max(boxes, key=lambda b: float(b[2] * b[3]))
        return (x / scale, y / scale, w / scale, h / scale)


def search_regions(width: int, height: int) -> list[Roi]:
    """Regions to look for a lost person in, most likely first.

    The whole frame upright, then turned a quarter either way (someone lying down for push-ups
    or sit-ups), then squares along the long side of the frame (a small person off-centre).
    """
    full = whole_frame(width, height)
    regions = [
        full,
        Roi(full.cx, full.cy, full.size, math.pi / 2),
        Roi(full.cx, full.cy, full.size, -math.pi / 2),
    ]
    short, long_ = min(width, height), max(width, height)
    if long_ > 1.3 * short:
        steps = 3
        for i in range(steps):
            offset = short / 2 + i * (long_ - short) / (steps - 1)
            cx, cy = (offset, height / 2) if width >= height else (width / 2, offset)
            regions.append(Roi(cx, cy, float(short)))
    return regions


class PoseTracker:
    """Runs the landmark model on the person region, tracked from frame to frame.

    The crop of frame t comes from the alignment points of frame t-1. When the person is lost
    (presence below threshold) the whole frame is tried, and every few frames the HOG people
    detector; a hit is refined by a second run on the crop its landmarks give.
    """

    def __init__(
        self,
        model: PoseModel,
        *,
        smooth: bool = True,
        use_detector: bool = True,
        search: bool = True,
    ) -> None:
        self.model = model
        # Without search a lost person stays lost until `follow` is given a new region (a
        # station with several people finds them with the person detector instead).
        self.search = search
        self._roi: Roi | None = None
        self._refine = False  # the region came from a detector: place the crop again first
        self._lost_frames = 0
        self._filter = OneEuroFilter() if smooth else None
        self._detector = PeopleDetector() if use_detector and PeopleDetector.available() else None

    @property
    def roi(self) -> Roi | None:
        """Where the next frame's crop is taken: centred on the person's hips (None: lost)."""
        return self._roi

    def follow(self, roi: Roi) -> None:
        """Track the person in *roi* from the next frame on (found by a detector)."""
        self._roi = roi
        self._refine = True
        self._lost_frames = 0
        if self._filter is not None:
            self._filter.reset()

    def reset(self) -> None:
        self._roi = None
        self._lost_frames = 0
        if self._filter is not None:
            self._filter.reset()

    def _run(self, frame: Frame, roi: Roi) -> tuple[Pose, Roi] | None:
        result = self.model.infer(roi.crop(frame))
        if result.presence < PRESENCE_THRESHOLD:
            return None
        points = roi.to_frame(result.points)
        pose = Pose(points[:NUM_KEYPOINTS], result.visibility[:NUM_KEYPOINTS], result.presence, roi)
        return pose, from_alignment(points[ALIGN_CENTER], points[ALIGN_SCALE])

    def _acquire(self, frame: Frame) -> tuple[Pose, Roi] | None:
        if self._lost_frames % SEARCH_EVERY:
            return None
        height, width = frame.shape[:2]
        candidates = search_regions(width, height)
        if self._detector is not None:
            box = self._detector.largest(frame)
            if box is not None:
                candidates.insert(0, from_box(*box))
        found = [hit for hit in (self._run(frame, roi) for roi in candidates) if hit is not None]
        if not found:
            return None
        # A wrong region can hold a half-plausible person (a body turned sideways); the region
        # the model is surest about is the right one far more often than the first hit.
        best = max(found, key=lambda hit: hit[0].presence)
        # The search crop is coarse; one more run on the crop it points to is accurate.
        return self._run(frame, best[1]) or best

    def _settle(self, frame: Frame, found: tuple[Pose, Roi]) -> tuple[Pose, Roi]:
        """Place the crop again on the same frame until it stops moving (a few runs at most).

        A detector's region is coarse, and each crop placed from the last one's landmarks is
        closer: left to later frames, that settling looks like the person moving, which rope
        skipping (swings of a few per cent of the torso) would count.
        """
        for _ in range(SETTLE_RUNS):
            again = self._run(frame, found[1])
            if again is None:
                break
            moved = math.hypot(again[1].cx - found[1].cx, again[1].cy - found[1].cy)
            grown = abs(again[1].size - found[1].size)
            found = again
            if max(moved, grown) < 0.01 * found[1].size:
                break
        return found

    def process(self, frame: Frame, dt: float) -> Pose | None:
        """Keypoints of the person in *frame*, or None when nobody is found."""
        found = self._run(frame, self._roi) if self._roi is not None else None
        if found is not None and self._refine:
            found = self._settle(frame, found)
        self._refine = False
        if found is None and self.search:
            found = self._acquire(frame)
        if found is None:
            self._roi = None
            self._lost_frames += 1
            if self._filter is not None:
                self._filter.reset()
            return None
        self._lost_frames = 0
        pose, self._roi = found
        if self._filter is None:
            return pose
        # Smooth in units of the crop size so the filter behaves the same at any distance.
        scale = max(pose.roi.size, 1.0)
        smoothed = self._filter(pose.keypoints / scale, dt) * scale
        return Pose(smoothed.astype(np.float32), pose.visibility, pose.presence, pose.roi)
