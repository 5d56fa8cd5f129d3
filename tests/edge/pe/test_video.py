"""A camera that is not there: one SourceError naming it, and no OpenCV warning of its own."""

from __future__ import annotations

import subprocess
import sys

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
