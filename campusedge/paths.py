"""Where the installed data lives: model files and firmware configs."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _data_dir(package: str, source_folder: str) -> Path:
    # Installed, the folders are the packages campusedge.models and campusedge.firmware_configs;
    # run from a source tree without installing, they are the top-level folders.
    try:
        return Path(str(resources.files(package)))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / source_folder


def models_dir() -> Path:
    return _data_dir("campusedge.models", "models")


def firmware_configs_dir() -> Path:
    return _data_dir("campusedge.firmware_configs", "firmware_configs")
