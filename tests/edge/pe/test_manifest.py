"""Evaluation manifest reader: good rows, and clear errors for anything else."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.pe.counters import Exercise
from edge.pe.manifest import ManifestError, read_manifest

HEADER = "file,exercise,count,count_unit,start_frame,end_frame,confidence,source\n"


def test_reads_rows_with_optional_window(tmp_path: Path) -> None:
    (tmp_path / "manifest.csv").write_text(
        HEADER + "a.mp4,squat,10,reps,5,90,high,made\nb.mp4,rope_skip,3,jumps,,,low,made\n"
    )
    clips = read_manifest(tmp_path)
    assert [(c.path.name, c.exercise, c.count, c.start_frame, c.end_frame) for c in clips] == [
        ("a.mp4", Exercise.SQUAT, 10, 5, 90),
        ("b.mp4", Exercise.ROPE_SKIP, 3, 0, None),
    ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("a.mp4,squat,ten,reps,0,1,x,y", "line 2: column 'count' must be an integer"),
        ("a.mp4,squat,0,reps,0,1,x,y", "line 2: count must be a positive integer"),
        ("a.mp4,yoga,3,reps,0,1,x,y", "line 2: unknown exercise 'yoga'"),
        ("a.mp4,squat,3,reps,zero,1,x,y", "line 2: column 'start_frame'"),
    ],
)
def test_bad_rows_name_line_and_column(tmp_path: Path, row: str, message: str) -> None:
    (tmp_path / "manifest.csv").write_text(HEADER + row + "\n")
    with pytest.raises(ManifestError, match=message):
        read_manifest(tmp_path)


def test_missing_columns_are_listed(tmp_path: Path) -> None:
    (tmp_path / "manifest.csv").write_text("file,count\na.mp4,3\n")
    with pytest.raises(ManifestError, match="missing column"):
        read_manifest(tmp_path)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=300))
def test_any_text_reads_or_fails_with_manifest_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "manifest.csv").write_text(HEADER + text, encoding="utf-8")
        try:
            clips = read_manifest(folder)
        except ManifestError:
            return
        assert all(c.count > 0 for c in clips)
