"""Video sources: a camera that is not there is said once; a file's frames keep real time."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import pytest

from edge.pe.model import PoseModel
from edge.pe.pipeline import count_video
from edge.pe.synthetic import draw_jack

# A fresh interpreter: OpenCV writes its warnings to the process's stderr (fd 2) from C++.
PROBE = (
    "from edge.pe.video import SourceError, VideoSource\n"
    "for _ in range(3):\n"
    "    try:\n"
    "        VideoSource('usb:57')\n"
    "    except SourceError as exc:\n"
    "        print(exc)\n"
)


def test_a_missing_camera_is_said_once_per_try_by_us_not_opencv() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.splitlines() == ["cannot open video source camera usb:57 (/dev/video57)"] * 3
    assert "WARN" not in proc.stderr and "can't open camera" not in proc.stderr, proc.stderr


def test_a_variable_frame_rate_file_keeps_real_time(tmp_path: Path, pose_model: PoseModel) -> None:
    """Phones record at a variable rate: reps are timed by the frames' own timestamps."""
    clip = tmp_path / "phone.mp4"
    out = av.open(str(clip), "w")
    stream = out.add_stream("mpeg4", rate=25)
    stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
    stream.codec_context.time_base = Fraction(1, 1000)
    t_ms = 0
    # 90 frames 20 ms apart, then 60 frames 60 ms apart: jacks at 1.2 s after a 0.3 s lead-in.
    for gap in [20] * 90 + [60] * 60:
        t = t_ms / 1000 - 0.3
        phase = (t / 1.2) % 1.0 if 0 <= t <= 3.6 else 0.0
        rgb = cv2.cvtColor(draw_jack(320, 240, phase), cv2.COLOR_BGR2RGB)
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts, frame.time_base = t_ms, Fraction(1, 1000)
        for packet in stream.encode(frame):
            out.mux(packet)
        t_ms += gap
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    result = count_video(clip, "jumping_jack", model=pose_model).result
    # Arms overhead half way through each jack: 0.3 + 0.6 + 1.2 k seconds.
    assert [round(r.time_s, 1) for r in result.reps] == pytest.approx([0.9, 2.1, 3.3], abs=0.15)
    assert result.cadence_per_min == pytest.approx(50, abs=3)
