"""Shared fixtures: a drawn jumping-jack clip (made here, no third-party footage)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.pe.model import PoseModel
from edge.pe.synthetic import write_jacks_clip

JACKS = 3


@pytest.fixture(scope="session")
def jacks_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clips") / "jacks.avi"
    write_jacks_clip(path, width=640, height=360, reps=JACKS, rep_s=1.2)
    return path


@pytest.fixture(scope="session")
def pose_model() -> PoseModel:
    return PoseModel(threads=1)
