"""PE-station cameras: the one config of a station (camera source and counting settings).

A camera has no byte protocol to decode: its driver is this config and a pure parser of the
source string. A device model (pe_station_usb_cam.yaml) sets the camera part; the box entry
adds what the station counts (exercise, set_idle_s, ...). Reading the frames
(edge/pe/video.py) and pose inference on them (edge/pe) run on the edge box.

Source strings: `file:<path>` (or a bare path ending in a video extension), `rtsp://…` /
`rtsps://…`, `usb:<index>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from campusedge.contract import DeviceId
from campusedge.topics import DeviceKind
from drivers.base import DriverConfig

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm")


class Exercise(StrEnum):
    """Exercise ids, shared with the evaluation manifests and the pe_set event."""

    ROPE_SKIP = "rope_skip"
    JUMPING_JACK = "jumping_jack"
    SIT_UP = "sit_up"
    PUSH_UP = "push_up"
    SQUAT = "squat"
    PULL_UP = "pull_up"


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
    raise SourceError(f"camera source {text!r}: use file:<path>, rtsp://host/stream or usb:<index>")


class LaneConfig(BaseModel):
    """One student's place at a station filming several: a band of the frame's width.

    Its counts and sets are published as their own device, which the gateway binds to the
    student like a wristband (provision the lane ids with the box).
    """

    model_config = ConfigDict(extra="forbid")

    device_id: DeviceId
    x0: float = Field(ge=0.0, lt=1.0, description="left edge, share of the frame's width")
    x1: float = Field(gt=0.0, le=1.0, description="right edge, share of the frame's width")

    @model_validator(mode="after")
    def _ordered(self) -> LaneConfig:
        if self.x1 <= self.x0:
            raise ValueError(f"lane {self.device_id}: x1 {self.x1} is not right of x0 {self.x0}")
        return self


class Config(DriverConfig):
    """One PE station: the camera, and what it counts and how results are reported."""

    source: str = Field(description="file:<path>, rtsp://… or usb:<index>")
    max_fps: float = Field(
        default=15.0, gt=0, le=120, description="frames beyond this rate are skipped"
    )
    width: int | None = Field(default=None, ge=16, le=4096)
    height: int | None = Field(default=None, ge=16, le=4096)
    # A device model leaves the exercise to the box entry; a box device must name it.
    exercise: Exercise | None = None
    duration_s: int | None = Field(
        default=None,
        ge=5,
        le=3600,
        description="a timed test: the set ends this long after "
        "its first rep and its event says so",
    )
    model_file: str = Field(
        default="pose_landmark_full.onnx",
        description="ONNX pose model; a bare name is looked up in the installed models folder",
    )
    threads: int = Field(default=1, ge=1, le=16, description="onnxruntime intra-op threads")
    infer_every: int | None = Field(
        default=None,
        ge=1,
        le=10,
        description="run the model on every n-th frame; default "
        "from the camera's frame rate and the exercise",
    )
    live_interval_s: float = Field(
        default=1.0, gt=0, le=60, description="at most one live reading per interval"
    )
    set_idle_s: float = Field(
        default=8.0, gt=0, le=600, description="a set ends after this long without a rep"
    )
    min_set_reps: int = Field(default=1, ge=1, description="shorter sets are not reported")
    start_frame: int = Field(default=0, ge=0, description="file sources: first frame")
    end_frame: int | None = Field(default=None, ge=0, description="file sources: last frame")
    lanes: list[LaneConfig] | None = Field(
        default=None,
        max_length=8,
        description="several students in one frame: each lane counts the person in it and "
        "publishes as its own device",
    )
    detector_file: str = Field(
        default="pose_detection.onnx",
        description="ONNX person detector for lanes; a bare name is looked up in the models folder",
    )

    @field_validator("source")
    @classmethod
    def _valid_source(cls, v: str) -> str:
        parse_source(v)
        return v

    @model_validator(mode="after")
    def _frames_in_order(self) -> Config:
        if self.end_frame is not None and self.end_frame < self.start_frame:
            raise ValueError(f"end_frame {self.end_frame} is before start_frame {self.start_frame}")
        return self

    @model_validator(mode="after")
    def _lanes_apart(self) -> Config:
        lanes = sorted(self.lanes or [], key=lambda lane: lane.x0)
        ids = [lane.device_id for lane in lanes]
        if len(set(ids)) != len(ids):
            raise ValueError(f"lanes: device ids must differ, got {ids}")
        for left, right in pairwise(lanes):
            if right.x0 < left.x1:
                raise ValueError(
                    f"lanes {left.device_id} and {right.device_id} overlap "
                    f"({left.x0}-{left.x1} and {right.x0}-{right.x1})"
                )
        return self


class PeStationCamera:
    """Driver for a PE-station camera."""

    name: ClassVar[str] = "pe_station"
    kind: ClassVar[DeviceKind] = DeviceKind.PE_STATION
    Config: ClassVar[type[DriverConfig]] = Config

    def source(self, cfg: DriverConfig) -> CameraSource:
        assert isinstance(cfg, Config)
        return parse_source(cfg.source)

    def check_device(self, cfg: DriverConfig) -> None:
        """What a device model may leave out but a station on a box needs; ValueError if not."""
        assert isinstance(cfg, Config)
        if cfg.exercise is None:
            raise ValueError(
                "a pe_station device needs config.exercise, one of "
                + ", ".join(e.value for e in Exercise)
            )
