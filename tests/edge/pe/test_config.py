"""The PE station's config: the pe_station driver's Config, on a box device and in the gym box."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from campusedge.paths import firmware_configs_dir
from drivers.pe_station import Config, Exercise
from edge.config import ConfigError, load_box
from edge.pe.model import resolve_model
from tests.edge.boxes import write_box


def test_gym_box_camera_counts_one_minute_rope_tests() -> None:
    box = load_box(firmware_configs_dir() / "box_gym.yaml")
    camera = next(d for d in box.devices if d.model.driver == "pe_station")
    cfg = camera.driver_config
    assert isinstance(cfg, Config)
    assert cfg.exercise is Exercise.ROPE_SKIP and cfg.duration_s == 60
    assert cfg.source == "usb:0" and cfg.max_fps == 15  # from the device model
    assert resolve_model(cfg.model_file).is_file()


def test_a_box_camera_without_exercise_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"devices\.0 \(cam\): .*needs config\.exercise"):
        write_box(
            tmp_path,
            [{"id": "cam", "model": "pe_station_usb_cam", "transport": {"type": "camera"}}],
        )


def test_bad_station_settings_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\(cam\): invalid pe_station config: exercise"):
        write_box(
            tmp_path,
            [
                {
                    "id": "cam",
                    "model": "pe_station_usb_cam",
                    "transport": {"type": "camera"},
                    "config": {"exercise": "burpee"},
                }
            ],
        )
    with pytest.raises(ConfigError, match=r"set_idl"):
        write_box(
            tmp_path,
            [
                {
                    "id": "cam",
                    "model": "pe_station_usb_cam",
                    "transport": {"type": "camera"},
                    "config": {"exercise": "squat", "set_idl_s": 3},
                }
            ],
        )


def test_field_ranges() -> None:
    with pytest.raises(ValidationError, match="before start_frame"):
        Config(source="x.mp4", exercise="squat", start_frame=10, end_frame=5)
    with pytest.raises(ValidationError, match="threads"):
        Config(source="usb:0", exercise="squat", threads=0)
    with pytest.raises(ValidationError, match="duration_s"):
        Config(source="usb:0", exercise="sit_up", duration_s=0)


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5000),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from([e.value for e in Exercise]),
)


@settings(max_examples=120, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "exercise",
                "duration_s",
                "set_idle_s",
                "min_set_reps",
                "live_interval_s",
                "threads",
                "infer_every",
                "source",
                "max_fps",
                "end_frame",
                "typo",
            ]
        ),
        _VALUES,
        max_size=6,
    )
)
def test_any_station_settings_load_or_fail_naming_the_device(config: dict[str, object]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            write_box(
                Path(tmp),
                [
                    {
                        "id": "cam",
                        "model": "pe_station_usb_cam",
                        "transport": {"type": "camera"},
                        "config": config,
                    }
                ],
            )
        except ConfigError as exc:
            assert "devices.0 (cam)" in str(exc)
