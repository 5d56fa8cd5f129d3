"""Side-by-side composites of single-person clips: a station with several students, counts known.

Each clip is scaled to one height and placed in its own band; clip k starts `k * offset_s`
later than the first, so that the people do not move in step. Before its start a clip shows
its first frame and after its end its last (a student standing still), so each band's count
is the clip's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from edge.pe.crowd import Lane
from edge.pe.manifest import Clip
from edge.pe.video import Frame, VideoFrame, VideoSource


@dataclass
class _Player:
    """One clip played on the composite's clock."""

    source: VideoSource
    frames: Iterator[VideoFrame]
    height: int
    offset_s: float
    first_time: float | None = None
    current: Frame | None = None
    pending: VideoFrame | None = None
    ended: bool = False

    def _scaled(self, image: Frame) -> Frame:
        h, w = image.shape[:2]
        return np.asarray(
            cv2.resize(image, (max(1, round(w * self.height / h)), self.height)), dtype=np.uint8
        )

    def at(self, t: float) -> Frame:
        """The clip's frame on show at composite time *t*."""
        local = t - self.offset_s
        while not self.ended:
            if self.pending is None:
                self.pending = next(self.frames, None)
                if self.pending is None:
                    self.ended = True
                    break
            if self.first_time is None:
                self.first_time = self.pending.time_s
            if self.current is not None and self.pending.time_s - self.first_time > local:
                break
            self.current = self._scaled(self.pending.image)
            self.pending = None
        if self.current is None:
            raise ValueError("clip has no frames")
        return self.current


def composite(
    clips: list[Clip], *, height: int = 360, fps: float = 30.0, offset_s: float = 1.0
) -> tuple[list[Lane], Iterator[VideoFrame]]:
    """The lanes (one per clip, left to right) and the composite's frames."""
    players: list[_Player] = []
    for k, clip in enumerate(clips):
        source = VideoSource(clip.path, start_frame=clip.start_frame, end_frame=clip.end_frame)
        players.append(_Player(source, iter(source), height, k * offset_s))
    first = [p.at(0.0) for p in players]
    widths = [f.shape[1] for f in first]
    total = sum(widths)
    lanes: list[Lane] = []
    left = 0
    for k, w in enumerate(widths):
        lanes.append(Lane(str(k + 1), left / total, (left + w) / total))
        left += w

    def frames() -> Iterator[VideoFrame]:
        index = 0
        try:
            while True:
                t = index / fps
                images = [p.at(t) for p in players]
                if all(p.ended for p in players):
                    return
                yield VideoFrame(index, t, np.asarray(cv2.hconcat(images), dtype=np.uint8))
                index += 1
        finally:
            for p in players:
                p.source.close()

    return lanes, frames()
