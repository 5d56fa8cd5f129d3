"""The BlazePose full-body landmark model run with onnxruntime on a 256x256 crop."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from campusedge.paths import models_dir

MODEL_FILE = "pose_landmark_full.onnx"
INPUT_SIZE = 256
NUM_KEYPOINTS = 33
# The landmark output holds 39 points of 5 values; 33 are body keypoints, the next two are the
# alignment points MediaPipe uses to place the next frame's crop (hip centre and a point whose
# distance and direction from it give the body's scale and rotation).
NUM_POINTS = 39
ALIGN_CENTER = 33
ALIGN_SCALE = 34

FloatArray = npt.NDArray[np.float32]


class ModelError(RuntimeError):
    """The model file is missing, corrupt, or not the expected landmark model."""


@dataclass(frozen=True)
class CropPose:
    """Raw model result in crop pixel coordinates."""

    points: FloatArray  # (39, 3): x, y, z in crop pixels
    visibility: FloatArray  # (39,) probability that the point is visible
    presence: float  # probability that a person is in the crop


def default_model_path() -> Path:
    return models_dir() / MODEL_FILE


def resolve_model(model_file: str) -> Path:
    """A bare file name is looked up in the installed models folder; a path is used as is."""
    path = Path(model_file)
    return path if path.parent != Path() or path.is_absolute() else models_dir() / path


def model_version(path: Path) -> str:
    """A short id of the model file for status messages: its SHA-256, first 12 hex digits.

    Taken from the model card's sidecar when it ships one (no need to hash 12 MB at every
    start of a small box), else computed from the file.
    """
    sidecar = path.with_suffix(".json")
    if sidecar.is_file():
        digest = json.loads(sidecar.read_text()).get("sha256")
        if isinstance(digest, str) and len(digest) >= 12:
            return digest[:12]
    if not path.is_file():
        raise ModelError(f"pose model {path} not found")
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:12]


def _sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0))), dtype=np.float32)


def open_session(
    path: Path, threads: int, what: str, size: int
) -> tuple[ort.InferenceSession, str]:
    """A CPU session over one of the shipped models, and its one input's name; ModelError
    when the file is missing, does not load, or is not a model of a size x size RGB input."""
    if not path.is_file():
        raise ModelError(
            f"{what} {path} not found: reinstall campusedge or run "
            "models/export_pose.py to rebuild it"
        )
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for a bad file
        raise ModelError(f"{what} {path} could not be loaded: {exc}") from exc
    inputs = session.get_inputs()
    if len(inputs) != 1 or list(inputs[0].shape) != [1, size, size, 3]:
        raise ModelError(f"{what} {path}: expected one input of shape [1, {size}, {size}, 3]")
    return session, inputs[0].name


class PoseModel:
    """One onnxruntime session over the landmark model; not shared between threads."""

    def __init__(self, path: Path | None = None, threads: int = 1) -> None:
        self.path = path or default_model_path()
        self.threads = threads
        self._session, self._input = open_session(self.path, threads, "pose model", INPUT_SIZE)
        outputs = [o.name for o in self._session.get_outputs()]
        # The first output holds the landmarks, the second the presence flag (export order).
        self._outputs = outputs[:2]

    def metadata(self) -> dict[str, object]:
        """The model card's JSON sidecar, if it ships next to the model."""
        sidecar = self.path.with_suffix(".json")
        if not sidecar.is_file():
            return {}
        data: dict[str, object] = json.loads(sidecar.read_text())
        return data

    def infer(self, crop_rgb: FloatArray) -> CropPose:
        """Run on one (256, 256, 3) float32 RGB crop scaled to [0, 1]."""
        if crop_rgb.shape != (INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(f"crop must be {INPUT_SIZE}x{INPUT_SIZE}x3, got {crop_rgb.shape}")
        landmarks, flag = self._session.run(self._outputs, {self._input: crop_rgb[None]})
        values = np.asarray(landmarks, dtype=np.float32).reshape(NUM_POINTS, 5)
        return CropPose(
            points=values[:, :3].copy(),
            visibility=_sigmoid(values[:, 3]),
            presence=float(np.asarray(flag).reshape(-1)[0]),
        )
