"""PE-station frames from a video file, an RTSP URL or a USB camera, through OpenCV."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from drivers.pe_station import Config, SourceKind, parse_source
from edge.transports.base import TransportError


class FrameSource:
    """Yields (monotonic time, BGR frame) at no more than the configured rate.

    Files are read as fast as the rate limit allows (no sleeping): a recorded lesson is
    processed at whatever speed the inference keeps up with.
    """

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.source = parse_source(cfg.source)
        self.frames_read = 0
        self.frames_skipped = 0

    def _open(self) -> Any:
        src = self.source
        target: int | str = src.index if src.kind == SourceKind.USB and src.index is not None \
            else src.location
        cap = cv2.VideoCapture(target)
        if not cap.isOpened():
            raise TransportError(f"cannot open camera source {self.cfg.source!r}")
        if self.cfg.width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.cfg.width)
        if self.cfg.height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.cfg.height)
        return cap

    def frames(self) -> Iterator[tuple[float, np.ndarray[Any, Any]]]:
        cap = self._open()
        is_file = self.source.kind == SourceKind.FILE
        file_fps = cap.get(cv2.CAP_PROP_FPS) or self.cfg.max_fps
        # For files, skip by frame index so the output rate matches max_fps in video time.
        keep_every = max(1, round(file_fps / self.cfg.max_fps)) if is_file else 1
        index = 0
        last = 0.0
        try:
            while True:
                ok, frame = cap.read()
                if not ok:
                    if is_file and self.cfg.loop and self.frames_read:
                        cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                        continue
                    if is_file:
                        return
                    raise TransportError(f"camera source {self.cfg.source!r} stopped")
                index += 1
                now = time.monotonic()
                if is_file:
                    if (index - 1) % keep_every:
                        self.frames_skipped += 1
                        continue
                elif now - last < 1.0 / self.cfg.max_fps:
                    self.frames_skipped += 1
                    continue
                last = now
                self.frames_read += 1
                yield now, frame
        finally:
            cap.release()
