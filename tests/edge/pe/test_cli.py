"""`campusedge pe count`, `pe eval` and `bench pose` run end to end on a drawn clip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from campusedge.cli import main
from tests.edge.pe.conftest import JACKS


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(argv)
    return code, capsys.readouterr().out.strip().splitlines()


def test_count_prints_json_last(jacks_clip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _run(
        ["pe", "count", str(jacks_clip), "--exercise", "jumping_jack", "--json"], capsys
    )
    assert code == 0
    out = json.loads(lines[-1])
    assert set(out) == {"count", "reps", "frames", "fps"}
    assert out["count"] == JACKS and len(out["reps"]) == JACKS
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
    code = main(["pe", "count", str(tmp_path / "no.mp4"), "--exercise", "squat"])
    assert code == 1
    assert "does not exist" in capsys.readouterr().err


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
