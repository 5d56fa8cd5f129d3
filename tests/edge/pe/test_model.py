"""The shipped ONNX pose model: it loads, matches its checksum and finds a drawn person."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from edge.pe.model import NUM_KEYPOINTS, ModelError, PoseModel, default_model_path
from edge.pe.roi import whole_frame
from edge.pe.synthetic import draw_jack
from edge.pe.tracker import PoseTracker


@pytest.fixture(scope="module")
def model() -> PoseModel:
    return PoseModel(threads=1)


def test_model_file_matches_its_card_checksum() -> None:
    path = default_model_path()
    meta = json.loads(path.with_suffix(".json").read_text())
    assert hashlib.sha256(path.read_bytes()).hexdigest() == meta["sha256"]
    assert meta["license"] == "Apache-2.0"


def test_returns_33_keypoints_on_a_drawn_person(model: PoseModel) -> None:
    image = draw_jack(640, 360, 0.5)  # arms overhead, feet apart
    tracker = PoseTracker(model)
    pose = tracker.process(image, 1 / 30)
    assert pose is not None
    assert pose.keypoints.shape == (NUM_KEYPOINTS, 3)
    assert pose.presence > 0.5
    xs, ys = pose.keypoints[:, 0], pose.keypoints[:, 1]
    # The figure stands in the middle third of the frame, head up.
    assert 213 < float(np.median(xs)) < 427
    assert pose.keypoints[0, 1] < pose.keypoints[27, 1]  # nose above the left ankle
    assert pose.keypoints[15, 1] < pose.keypoints[11, 1]  # left wrist above the shoulder
    assert ys.min() > -40 and ys.max() < 400


def test_empty_wall_has_no_person(model: PoseModel) -> None:
    blank = np.full((360, 640, 3), 200, dtype=np.uint8)
    result = model.infer(whole_frame(640, 360).crop(blank))
    assert result.presence < 0.5
    assert PoseTracker(model).process(blank, 1 / 30) is None


def test_crop_maps_points_back_to_the_frame() -> None:
    roi = whole_frame(640, 360)
    points = np.array([[128.0, 128.0, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    back = roi.to_frame(points)
    assert back[0, :2] == pytest.approx([320, 180])
    assert back[1, :2] == pytest.approx([0, -140])


def test_missing_or_broken_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        PoseModel(tmp_path / "absent.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="could not be loaded"):
        PoseModel(broken)
