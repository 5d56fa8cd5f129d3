"""PE-station cameras: where frames come from (a video file, an RTSP URL or a USB index).

A camera has no byte protocol to decode: its driver is the source config and a pure parser of
the source string. Reading the frames is the edge agent's OpenCV transport
(edge/transports/camera.py); pose inference on them is edge/pe.

Source strings: `file:<path>` (or a bare path ending in a video extension), `rtsp://…` /
`rtsps://…`, `usb:<index>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from pydantic import Field, field_validator

from campusedge.topics import DeviceKind
from drivers.base import DriverConfig

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm")


class SourceKind(StrEnum):
    FILE = "file"
    RTSP = "rtsp"
    USB = "usb"


@dataclass(frozen=True)
class CameraSource:
    kind: SourceKind
    location: str  # path or URL; the index as text for USB
    index: int | None = None


class SourceError(ValueError):
    """A camera source string is not file:, rtsp:// or usb:."""


def parse_source(text: str) -> CameraSource:
    """Parse a source string; SourceError says which forms are accepted."""
    if text.startswith(("rtsp://", "rtsps://")):
        if len(text.split("://", 1)[1]) == 0:
            raise SourceError(f"camera source {text!r}: RTSP URL has no host")
        return CameraSource(SourceKind.RTSP, text)
    if text.startswith("usb:"):
        idx = text[4:]
        if not idx.isdigit() or int(idx) > 63:
            raise SourceError(f"camera source {text!r}: USB index must be 0-63, e.g. usb:0")
        return CameraSource(SourceKind.USB, idx, int(idx))
    if text.startswith("file:"):
        path = text[5:]
        if not path:
            raise SourceError(f"camera source {text!r}: file: needs a path")
        return CameraSource(SourceKind.FILE, path)
    if text.lower().endswith(VIDEO_EXTENSIONS):
        return CameraSource(SourceKind.FILE, text)
    raise SourceError(f"camera source {text!r}: use file:<path>, rtsp://host/stream or "
                      "usb:<index>")


class Config(DriverConfig):
    """Camera settings."""

    source: str = Field(description="file:<path>, rtsp://… or usb:<index>")
    max_fps: float = Field(default=15.0, gt=0, le=120,
                           description="frames beyond this rate are skipped")
    width: int | None = Field(default=None, ge=16, le=4096)
    height: int | None = Field(default=None, ge=16, le=4096)
    loop: bool = Field(default=False, description="replay a file source from the start")

    @field_validator("source")
    @classmethod
    def _valid_source(cls, v: str) -> str:
        parse_source(v)
        return v


class PeStationCamera:
    """Driver for the PE-station camera source."""

    name: ClassVar[str] = "pe_station"
    kind: ClassVar[DeviceKind] = DeviceKind.PE_STATION
    Config: ClassVar[type[DriverConfig]] = Config

    def source(self, cfg: DriverConfig) -> CameraSource:
        assert isinstance(cfg, Config)
        return parse_source(cfg.source)
