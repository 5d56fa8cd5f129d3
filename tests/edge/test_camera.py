"""The OpenCV frame source reads a simulated PE-station video at the configured rate."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.pe_station import Config
from edge.transports.base import TransportError
from edge.transports.camera import FrameSource
from simulators.pe_station import write_video


def test_file_source_keeps_the_frame_rate_cap(tmp_path: Path) -> None:
    video = tmp_path / "lesson.avi"
    written = write_video(video, seconds=2, fps=30)
    src = FrameSource(Config(source=f"file:{video}", max_fps=10))
    frames = [f for _, f in src.frames()]
    assert written == 60
    assert len(frames) == 20 and src.frames_skipped == 40
    assert frames[0].shape == (240, 320, 3)
    assert frames[5].max() == 255  # the figure is drawn


def test_missing_file_is_named(tmp_path: Path) -> None:
    src = FrameSource(Config(source=f"file:{tmp_path / 'none.avi'}"))
    with pytest.raises(TransportError, match=r"none\.avi"):
        next(iter(src.frames()))
