"""Configuration of a PE-station camera: the schema its firmware YAML is validated against."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from campusedge.paths import models_dir
from campusedge.topics import check_id
from edge.pe.counters import Exercise
from edge.pe.model import MODEL_FILE


class ConfigError(ValueError):
    """A PE-station config file cannot be read or does not follow the schema."""


def _source(value: str | int) -> str | int:
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a USB camera index must be >= 0")
        return value
    if not value.strip():
        raise ValueError("source must be a file path, an rtsp:// or http(s):// URL, "
                         "or a USB camera index")
    return value


class Config(BaseModel):
    """One PE-station: which camera, which exercise, which model, how results are reported."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    driver: Literal["pe_station"] = "pe_station"
    device_id: Annotated[str, AfterValidator(lambda v: check_id(v, "device id"))]
    source: Annotated[int | str, AfterValidator(_source)] = Field(
        description="video file path, rtsp:// or http(s):// URL, or USB camera index")
    exercise: Exercise
    model_file: str = Field(default=MODEL_FILE,
                            description="ONNX pose model; a bare name is looked up in the "
                                        "installed models folder")
    threads: int = Field(default=1, ge=1, le=16, description="onnxruntime intra-op threads")
    infer_every: int | None = Field(default=None, ge=1, le=10,
                                    description="run the model on every n-th frame; default "
                                                "from the camera's frame rate and the exercise")
    live_interval_s: float = Field(default=1.0, gt=0, le=60,
                                   description="at most one live reading per interval")
    set_idle_s: float = Field(default=8.0, gt=0, le=600,
                              description="a set ends after this long without a rep")
    min_set_reps: int = Field(default=1, ge=1, description="shorter sets are not reported")
    start_frame: int = Field(default=0, ge=0)
    end_frame: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _frames_in_order(self) -> Config:
        if self.end_frame is not None and self.end_frame < self.start_frame:
            raise ValueError(f"end_frame {self.end_frame} is before start_frame "
                             f"{self.start_frame}")
        return self

    def model_path(self) -> Path:
        path = Path(self.model_file)
        return path if path.parent != Path() or path.is_absolute() else models_dir() / path


def load_config(path: Path) -> Config:
    """Read and validate a PE-station YAML; errors name the file and the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}"
                             for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from None
