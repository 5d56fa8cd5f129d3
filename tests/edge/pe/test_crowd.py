"""Several people at one station: the person detector, lanes, composites and `pe eval-crowd`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from campusedge.cli import main
from edge.pe.counters import Exercise
from edge.pe.crowd import CrowdPipeline, Lane, even_lanes
from edge.pe.detector import NUM_ANCHORS, PersonDetector, _tile_starts, ssd_anchors
from edge.pe.model import PoseModel
from edge.pe.synthetic import WALL, draw_jack, write_jacks_clip
from edge.pe.video import VideoFrame


@pytest.fixture(scope="module")
def detector() -> PersonDetector:
    return PersonDetector()


def test_anchors_match_the_model_output() -> None:
    anchors = ssd_anchors()
    assert anchors.shape == (NUM_ANCHORS, 2)
    assert float(anchors.min()) > 0.0 and float(anchors.max()) < 1.0


def test_a_wide_frame_is_searched_in_overlapping_squares() -> None:
    assert _tile_starts(1040, 360) == [0, 180, 360, 540, 680]
    assert _tile_starts(360, 360) == [0]


def test_everyone_in_a_row_is_found_once(detector: PersonDetector) -> None:
    row = np.hstack([draw_jack(320, 360, p) for p in (0.1, 0.5, 0.8)])
    found = detector.detect(row)
    assert sorted(round(d.cx / 320 - 0.5) for d in found) == [0, 1, 2]
    assert all(d.score > 0.8 for d in found)
    empty = np.full((360, 960, 3), WALL, dtype=np.uint8)
    assert detector.detect(empty) == []


def test_lanes_are_checked() -> None:
    assert [(lane.x0, lane.x1) for lane in even_lanes(2)] == [(0.0, 0.5), (0.5, 1.0)]
    with pytest.raises(ValueError, match="x0 < x1"):
        Lane("a", 0.6, 0.4)


def test_a_student_hidden_for_a_moment_keeps_counting_in_their_lane(
    pose_model: PoseModel, detector: PersonDetector
) -> None:
    per = 30
    jacks = [i / per for i in range(per)] * 4
    phases = [0.0] * 15 + jacks + [0.0] * 20
    frames = []
    for i, p in enumerate(phases):
        right = draw_jack(320, 360, p)
        if 15 + 2 * per + 5 <= i < 15 + 2 * per + 17:  # gone for 0.4 s between two jacks
            right = np.full_like(right, WALL)
        frames.append(VideoFrame(i, i / 30.0, np.hstack([draw_jack(320, 360, 0.0), right])))
    crowd = CrowdPipeline(pose_model, detector, Exercise.JUMPING_JACK, even_lanes(2), stride=2)
    for frame in frames:
        crowd.process(frame)
    crowd.finish()
    counts = {name: r.count for name, r in crowd.results().items()}
    assert counts == {"1": 0, "2": 4}


def test_eval_crowd_counts_each_person_of_side_by_side_clips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_jacks_clip(tmp_path / "a.avi", width=240, height=240, reps=3, rep_s=1.0)
    write_jacks_clip(tmp_path / "b.avi", width=240, height=240, reps=2, rep_s=1.0)
    (tmp_path / "manifest.csv").write_text(
        "file,exercise,count,count_unit,start_frame,end_frame,confidence,source\n"
        "a.avi,jumping_jack,3,jacks,0,,made here,drawn\n"
        "b.avi,jumping_jack,2,jacks,0,,made here,drawn\n"
    )
    code = main(["pe", "eval-crowd", str(tmp_path), "--people", "2", "--height", "240", "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["composites"] == 2 and summary["persons"] == 4
    assert [row["crowd"] for row in summary["rows"]] == [[3, 2], [2, 3]]
    assert summary["mae_crowd"] == 0.0 and summary["mae_difference"] == 0.0
