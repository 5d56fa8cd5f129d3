"""`campusedge pe count`, `pe eval` and `bench pose` run end to end on a drawn clip."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from campusedge.cli import main
from edge.pe.bench import rope_clips
from edge.pe.model import PoseModel
from tests.edge.pe.conftest import JACKS


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(argv)
    return code, capsys.readouterr().out.strip().splitlines()


def test_count_prints_json_last(jacks_clip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _run(
        ["pe", "count", str(jacks_clip), "--exercise", "jumping_jack", "--json"], capsys
    )
    assert code == 0
    out = json.loads(lines[-1])
    assert set(out) == {
        "count",
        "counted",
        "reps",
        "rep_confidence",
        "frames",
        "fps",
        "quality",
    }
    assert out["count"] == JACKS and len(out["reps"]) == JACKS
    assert out["quality"] == {
        "ok": True,
        "reasons": [],
        "signal": "wrists_over_shoulders",
        "detail": "",
    }
    assert all(0.0 < c <= 1.0 for c in out["rep_confidence"])
    assert out["fps"] > 0


def test_count_window_limits_frames(jacks_clip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _run(
        [
            "pe",
            "count",
            str(jacks_clip),
            "--exercise",
            "jumping_jack",
            "--start-frame",
            "10",
            "--end-frame",
            "59",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    out = json.loads(lines[-1])
    assert out["frames"] == 50
    assert all(10 <= f <= 59 for f in out["reps"])


def test_count_missing_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["pe", "count", str(tmp_path / "no.mp4"), "--exercise", "squat", "--json"])
    assert code == 1
    captured = capsys.readouterr()
    assert "does not exist" in captured.err
    out = json.loads(captured.out.strip().splitlines()[-1])
    assert out["count"] is None
    assert out["quality"]["reasons"] == ["cannot_open"]
    assert "does not exist" in out["quality"]["detail"]


def test_a_clip_with_nobody_in_it_gives_no_count_but_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = tmp_path / "empty_room.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 30.0, (320, 240))
    room = np.full((240, 320, 3), (225, 225, 220), dtype=np.uint8)
    room[180:] = (170, 180, 185)
    for _ in range(30):
        writer.write(room)
    writer.release()
    code, lines = _run(["pe", "count", str(clip), "--exercise", "squat", "--json"], capsys)
    assert code == 0
    out = json.loads(lines[-1])
    assert out["count"] is None and out["counted"] == 0
    assert out["quality"]["reasons"] == ["no_person"]


def test_eval_reports_mae_and_obo(
    jacks_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "jacks.avi").symlink_to(jacks_clip)
    (tmp_path / "manifest.csv").write_text(
        "file,exercise,count,count_unit,start_frame,end_frame,confidence,source\n"
        f"jacks.avi,jumping_jack,{JACKS + 1},jacks,0,,made here,drawn\n"
    )
    code, lines = _run(["pe", "eval", str(tmp_path), "--json"], capsys)
    assert code == 0
    assert any(line.startswith("jacks.avi") for line in lines)
    summary = json.loads(lines[-1])
    assert summary["mae"] == pytest.approx(1 / (JACKS + 1), abs=1e-3)
    assert summary["obo"] == 1.0
    assert summary["by_exercise"] == {
        "jumping_jack": {"clips": 1, "mae": round(1 / (JACKS + 1), 4), "obo": 1.0}
    }
    assert summary["clips"][0]["signal"] == "wrists_over_shoulders"
    assert any(line.strip().startswith("jumping_jack") for line in lines)


def test_eval_without_folder_is_an_error_unless_asked_to_skip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["pe", "eval", str(tmp_path / "absent")])
    assert code == 2 and "does not exist" in capsys.readouterr().err
    code, lines = _run(["pe", "eval", "--if-present", str(tmp_path / "absent")], capsys)
    assert code == 0
    assert "does not exist" in lines[-1] and "skipped" in lines[-1]


def test_eval_goes_on_past_an_unreadable_clip(
    jacks_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "jacks.avi").symlink_to(jacks_clip)
    (tmp_path / "manifest.csv").write_text(
        "file,exercise,count,count_unit,start_frame,end_frame,confidence,source\n"
        "gone.avi,jumping_jack,5,jacks,0,,made here,drawn\n"
        f"jacks.avi,jumping_jack,{JACKS},jacks,0,,made here,drawn\n"
    )
    code, lines = _run(["pe", "eval", str(tmp_path), "--json"], capsys)
    assert code == 1  # a clip could not be read: not a clean evaluation
    assert any(line.startswith("gone.avi") and "cannot read" in line for line in lines)
    summary = json.loads(lines[-1])
    assert summary["unreadable"] == ["gone.avi"] and summary["obo"] == 1.0


def test_count_past_the_end_of_the_video_is_an_error(
    jacks_clip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["pe", "count", str(jacks_clip), "--exercise", "squat", "--start-frame", "100000"])
    assert code == 1 and "past the end" in capsys.readouterr().err


def test_eval_bad_manifest_names_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "manifest.csv").write_text(
        "file,exercise,count,start_frame,end_frame\nx.mp4,burpee,3,0,\n"
    )
    code, lines = _run(["pe", "eval", str(tmp_path)], capsys)
    assert code == 1
    assert "line 2" in lines[-1] and "burpee" in lines[-1]


@pytest.mark.slow
def test_bench_pose_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _run(["bench", "pose", "--reps", "2", "--json"], capsys)
    assert code == 0
    figures = json.loads(lines[-1])
    assert {"fps_1_thread", "ms_per_frame_p50", "ms_per_frame_p95"} <= set(figures)
    assert figures["reps_counted"] == 2
    assert figures["ms_per_frame_p50"] <= figures["ms_per_frame_p95"]


def test_bench_pose_times_rope_clips_of_an_eval_folder(
    jacks_clip: Path, tmp_path: Path, pose_model: PoseModel
) -> None:
    assert "does not exist" in str(rope_clips(tmp_path / "absent", pose_model)["rope_clips"])
    (tmp_path / "jump.avi").symlink_to(jacks_clip)
    (tmp_path / "manifest.csv").write_text(
        "file,exercise,count,count_unit,start_frame,end_frame,confidence,source\n"
        "jump.avi,rope_skip,3,jumps,0,,made here,drawn\n"
    )
    figures = rope_clips(tmp_path, pose_model)
    assert figures["rope_clips"] == 1
    assert isinstance(figures["rope_fps_every_frame_median"], float)
    assert figures["rope_fps_every_frame_median"] > 0
    assert isinstance(figures["rope_mae"], float)
