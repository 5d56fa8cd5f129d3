"""The one frame source of a PE station: a video file, an RTSP URL or a USB camera, via OpenCV."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from drivers.pe_station import CameraSource, SourceKind, parse_source
from drivers.pe_station import SourceError as SourceStringError

Frame = npt.NDArray[np.uint8]
# A camera that reports no frame rate is assumed to run at this rate.
DEFAULT_FPS = 30.0

# OpenCV prints its own warning ("can't open camera by index") on every open that fails, so a
# missing camera retried with a back-off floods the log; SourceError says it once instead.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


class SourceError(RuntimeError):
    """A video source cannot be opened or read."""


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame with its index in the source and its time from the source's start."""

    index: int
    time_s: float
    image: Frame


def as_source(source: CameraSource | str | Path) -> CameraSource:
    """A Path is a video file; a string uses the driver's forms (file:, rtsp://, usb:N)."""
    if isinstance(source, CameraSource):
        return source
    if isinstance(source, Path):
        return CameraSource(SourceKind.FILE, str(source))
    try:
        return parse_source(source)
    except SourceStringError as exc:
        raise SourceError(str(exc)) from None


class VideoSource:
    """Iterates the frames of one source, at no more than `max_fps`.

    A file is read as fast as the consumer takes frames, between optional start and end frame
    (inclusive); `max_fps` keeps every n-th frame of it, so frame times stay video times. A
    camera's frames are timed by the box's monotonic clock from opening; frames arriving
    sooner than 1/`max_fps` after the last kept one are skipped. `fps` is the rate frames come
    out at. Iteration ends when a file ends or a camera stops delivering.
    """

    def __init__(
        self,
        source: CameraSource | str | Path,
        *,
        start_frame: int = 0,
        end_frame: int | None = None,
        max_fps: float | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> None:
        if start_frame < 0:
            raise SourceError(f"start frame must be >= 0, got {start_frame}")
        if end_frame is not None and end_frame < start_frame:
            raise SourceError(f"end frame {end_frame} is before start frame {start_frame}")
        self.source = as_source(source)
        self.live = self.source.kind != SourceKind.FILE
        if not self.live and not Path(self.source.location).is_file():
            raise SourceError(f"video file {self.source.location} does not exist")
        target: int | str = (
            self.source.index if self.source.index is not None else self.source.location
        )
        self._capture = cv2.VideoCapture(target)
        if not self._capture.isOpened():
            what = (
                f"camera usb:{self.source.index} (/dev/video{self.source.index})"
                if self.source.kind == SourceKind.USB
                else repr(self.source.location)
            )
            raise SourceError(f"cannot open video source {what}")
        if width:
            self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.native_fps = fps if 1.0 <= fps <= 1000.0 else DEFAULT_FPS
        self.max_fps = max_fps
        # Files: skip by frame index so the output rate matches max_fps in video time.
        self._keep_every = (
            1 if self.live or not max_fps else max(1, round(self.native_fps / max_fps))
        )
        self.fps = self.native_fps / self._keep_every
        if self.live and max_fps:
            self.fps = min(self.fps, max_fps)
        self.start_frame = start_frame
        self.end_frame = end_frame
        self.frames_skipped = 0
        self._last_stamp = -1.0

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._capture.release()

    def __iter__(self) -> Iterator[VideoFrame]:
        index = 0
        # Skipping by grab() avoids decoding to BGR; seeking is unreliable across codecs.
        while not self.live and index < self.start_frame:
            if not self._capture.grab():
                return
            index += 1
        opened = time.monotonic()
        last_kept: float | None = None
        min_gap = 1.0 / self.max_fps if self.live and self.max_fps else 0.0
        while self.live or self.end_frame is None or index <= self.end_frame:
            ok, image = self._capture.read()
            if not ok or image is None:
                return
            index += 1
            if self.live:
                now = time.monotonic() - opened
                if last_kept is not None and now - last_kept < min_gap:
                    self.frames_skipped += 1
                    continue
                last_kept = now
                yield VideoFrame(index - 1, now, np.asarray(image, dtype=np.uint8))
                continue
            time_s = self._file_time(index - 1)
            if (index - 1 - self.start_frame) % self._keep_every:
                self.frames_skipped += 1
                continue
            yield VideoFrame(index - 1, time_s, np.asarray(image, dtype=np.uint8))

    def _file_time(self, index: int) -> float:
        """The frame's presentation time from the container, so that a variable frame rate
        (phones record so) keeps real time; the nominal rate where the container has none."""
        nominal = index / self.native_fps
        stamp = float(self._capture.get(cv2.CAP_PROP_POS_MSEC) or 0.0) / 1000.0
        if index == 0 or stamp <= self._last_stamp:
            stamp = nominal if index == 0 or nominal > self._last_stamp else self._last_stamp
        self._last_stamp = stamp
        return stamp
