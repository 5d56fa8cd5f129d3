"""PE-station config schema and the shipped firmware config."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campusedge.paths import firmware_configs_dir
from edge.pe.config import Config, ConfigError, load_config
from edge.pe.counters import Exercise


def test_gym_firmware_config_validates() -> None:
    config = load_config(firmware_configs_dir() / "pe_station_gym.yaml")
    assert config.exercise is Exercise.ROPE_SKIP
    assert config.model_path().is_file()
    assert config.threads == 1


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "station.yaml"
    path.write_text(text)
    return path


def test_unknown_key_is_rejected_naming_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "device_id: a\nsource: 0\nexercise: squat\nfps_hack: 3\n")
    with pytest.raises(ConfigError, match=r"station.yaml: fps_hack: Extra inputs"):
        load_config(path)


def test_bad_exercise_and_threads_are_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "device_id: a\nsource: 0\nexercise: burpee\nthreads: 0\n")
    with pytest.raises(ConfigError, match=r"exercise: .*threads: "):
        load_config(path)


def test_not_a_mapping_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mapping"):
        load_config(_write(tmp_path, "- a\n- b\n"))
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(_write(tmp_path, "a: [\n"))


def test_source_forms() -> None:
    assert Config(device_id="a", source=2, exercise="squat").source == 2
    assert Config(device_id="a", source="rtsp://cam/1", exercise="squat").source == "rtsp://cam/1"
    with pytest.raises(ValueError, match="USB camera index"):
        Config(device_id="a", source=-1, exercise="squat")
    with pytest.raises(ValueError, match="before start_frame"):
        Config(device_id="a", source="x.mp4", exercise="squat", start_frame=10, end_frame=5)
    with pytest.raises(ValueError, match="device id"):
        Config(device_id="bad id!", source=0, exercise="squat")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_file_loads_or_fails_with_config_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "station.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        # Valid or not, the only error allowed is a ConfigError naming the file.
        with contextlib.suppress(ConfigError):
            load_config(path)
