"""Frame sources through OpenCV: a video file, an RTSP/HTTP URL or a USB camera index."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]
# A camera that reports no frame rate is assumed to run at this rate.
DEFAULT_FPS = 30.0


class SourceError(RuntimeError):
    """A video source cannot be opened or read."""


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame with its index in the source and its time from the source's start."""

    index: int
    time_s: float
    image: Frame


def parse_source(source: str | int) -> str | int:
    """A string of digits is a USB camera index; anything else is a path or a URL."""
    if isinstance(source, str) and source.isdigit():
        return int(source)
    return source


class VideoSource:
    """Iterates frames of one source between optional start and end frame (inclusive)."""

    def __init__(self, source: str | int | Path, *, start_frame: int = 0,
                 end_frame: int | None = None) -> None:
        if start_frame < 0:
            raise SourceError(f"start frame must be >= 0, got {start_frame}")
        if end_frame is not None and end_frame < start_frame:
            raise SourceError(f"end frame {end_frame} is before start frame {start_frame}")
        self.source = parse_source(str(source) if isinstance(source, Path) else source)
        if isinstance(self.source, str) and "://" not in self.source \
                and not Path(self.source).is_file():
            raise SourceError(f"video file {self.source} does not exist")
        self._capture = cv2.VideoCapture(self.source)
        if not self._capture.isOpened():
            raise SourceError(f"cannot open video source {self.source!r}")
        fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 1.0 <= fps <= 1000.0 else DEFAULT_FPS
        self.start_frame = start_frame
        self.end_frame = end_frame

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._capture.release()

    def __iter__(self) -> Iterator[VideoFrame]:
        index = 0
        # Skipping by grab() avoids decoding to BGR; seeking is unreliable across codecs.
        while index < self.start_frame:
            if not self._capture.grab():
                return
            index += 1
        while self.end_frame is None or index <= self.end_frame:
            ok, image = self._capture.read()
            if not ok or image is None:
                return
            yield VideoFrame(index, index / self.fps, np.asarray(image, dtype=np.uint8))
            index += 1
