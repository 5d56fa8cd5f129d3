"""Person tracking: finding someone lying down and following them across frames."""

from __future__ import annotations

import cv2
import numpy as np

from edge.pe.model import PoseModel
from edge.pe.synthetic import WALL, draw_jack
from edge.pe.tracker import PoseTracker, search_regions


def lying_person() -> np.ndarray:
    """The drawn figure turned a quarter clockwise (head to the right), in a 640x360 frame."""
    figure = cv2.resize(cv2.rotate(draw_jack(480, 480, 0.0), cv2.ROTATE_90_CLOCKWISE), (360, 360))
    frame = np.full((360, 640, 3), WALL, dtype=np.uint8)
    frame[:, 140:500] = figure
    return frame


def test_finds_a_person_lying_down_and_turns_the_crop(pose_model: PoseModel) -> None:
    tracker = PoseTracker(pose_model)
    frame = lying_person()
    poses = [tracker.process(frame, 1 / 30) for _ in range(3)]
    assert all(p is not None for p in poses)
    last = poses[-1]
    assert last is not None
    nose, ankle = last.keypoints[0], last.keypoints[27]
    assert nose[0] > ankle[0] + 100  # head to the right of the feet
    assert abs(nose[1] - ankle[1]) < 60
    # The crop is turned a quarter so the body stands upright in it.
    assert abs(abs(np.degrees(last.roi.rotation)) - 90) < 15


def test_tracking_follows_a_moving_person(pose_model: PoseModel) -> None:
    tracker = PoseTracker(pose_model)
    base = draw_jack(640, 360, 0.0)
    xs = []
    for shift in range(0, 120, 10):
        frame = np.roll(base, shift, axis=1)
        pose = tracker.process(frame, 1 / 30)
        assert pose is not None
        xs.append(float(pose.keypoints[0, 0]))
    moved = xs[-1] - xs[0]
    assert 90 < moved < 130


def test_search_regions_cover_a_wide_frame() -> None:
    regions = search_regions(1280, 360)
    assert regions[0].size == 1280 and regions[0].rotation == 0
    centres = sorted(r.cx for r in regions if r.size == 360)
    assert centres[0] == 180 and centres[-1] == 1100
