"""Contract over the driver registry (built-in drivers and installed plug-ins alike): simulator,
golden data, decoding, rejection, configs."""

from __future__ import annotations

import importlib
import random
from pathlib import Path

import pytest

from campusedge.contract import check_event
from campusedge.paths import firmware_configs_dir
from drivers.base import DecodeError, DriverConfig
from drivers.plugin import PLUGIN_KINDS
from drivers.registry import BUILT_IN, registry
from edge.config import ConfigError, DeviceModel, load_any, load_model
from tests.drivers.golden import load_cases

REGISTRY = registry()
DRIVERS = REGISTRY.drivers
NAMES = sorted(DRIVERS)
# Frames that are BLE characteristic values, which carry no checksum; and Modbus registers,
# whose frames pymodbus has checked (RTU CRC, TCP) before the codec gets them.
GATT_CHARACTERISTICS = {"hr_band", "thermometer"}
UNCHECKSUMMED = GATT_CHARACTERISTICS | {"modbus"}


def test_the_example_plugin_is_installed() -> None:
    # `make test` installs examples/campusedge-vendor-rope with the test extras: without it
    # this contract would silently cover the built-in drivers only.
    assert "acme_rope" in REGISTRY.plugins, REGISTRY.problems
    assert REGISTRY.origin("acme_rope") == "campusedge-vendor-rope 0.1.0"


def _sim_config(name: str) -> DriverConfig:
    """The driver's defaults, or the register map its simulator speaks (data-defined drivers)."""
    driver = DRIVERS[name]
    if REGISTRY.origin(name) == BUILT_IN:
        simulator = importlib.import_module(f"simulators.{name}")
        if hasattr(simulator, "sample_config"):
            return driver.Config.model_validate(simulator.sample_config())
    return driver.Config()


def _sim_frames(name: str) -> list[bytes]:
    plugin = REGISTRY.plugins.get(name)
    if plugin is not None:
        frames = plugin.sample_frames(random.Random(7))
    else:
        frames = importlib.import_module(f"simulators.{name}").sample_frames(random.Random(7))
    assert frames, f"the simulator of {name} gave nothing"
    return frames


@pytest.mark.parametrize("name", NAMES)
def test_registry_entry_is_consistent(name: str) -> None:
    driver = DRIVERS[name]
    if REGISTRY.origin(name) == BUILT_IN:
        # A protocol family (modbus) stands for the kinds its device models name.
        family = getattr(driver, "kinds", None)
        assert driver.name == name
        assert driver.kind.value == name or (family is not None and driver.kind in family)
    else:
        assert driver.name == name and driver.kind in PLUGIN_KINDS
    assert load_cases(name), f"tests/drivers/{name}/testdata is empty"
    driver.Config()  # every option has a default, so a minimal firmware config works


@pytest.mark.parametrize("name", NAMES)
def test_decodes_its_simulators_frames(name: str) -> None:
    driver = DRIVERS[name]
    cfg = _sim_config(name)
    framer = driver.framer(cfg)
    decoded = []
    for raw in _sim_frames(name):
        frames = framer.feed(raw)
        assert frames, f"{name}: framer did not yield the simulator's frame {raw!r}"
        for frame in frames:
            decoded += driver.decode(frame, cfg)
    assert framer.discarded_bytes == 0
    assert decoded and all(d.readings or d.event for d in decoded)
    # Every event it makes is one its kind may send, with the contract's attributes.
    for d in decoded:
        if d.event is not None:
            check_event(driver.kind, d.event)


@pytest.mark.parametrize("name", NAMES)
def test_rejects_truncated_and_corrupted_frames(name: str) -> None:
    driver = DRIVERS[name]
    cfg = _sim_config(name)
    frame = _sim_frames(name)[-1]
    with pytest.raises(DecodeError):
        driver.decode(frame[:1], cfg)
    plugin = REGISTRY.plugins.get(name)
    if name in UNCHECKSUMMED or (plugin is not None and not plugin.checksummed):
        return  # a GATT characteristic carries no checksum: only truncation is detectable
    body = frame.rstrip(b"\r\n")
    with pytest.raises(DecodeError):
        driver.decode(body[: len(body) // 2], cfg)
    flipped = bytearray(body)
    flipped[len(body) // 2] ^= 0x04
    with pytest.raises(DecodeError):
        driver.decode(bytes(flipped), cfg)


FIRMWARE = sorted(firmware_configs_dir().glob("*.yaml")) + [
    path for folder in REGISTRY.device_model_dirs() for path in sorted(folder.glob("*.yaml"))
]


@pytest.mark.parametrize("path", FIRMWARE, ids=[p.name for p in FIRMWARE])
def test_every_firmware_config_validates(path: Path) -> None:
    load_any(path)


def test_every_driver_has_a_device_model() -> None:
    models = [m for p in FIRMWARE if isinstance(m := load_any(p), DeviceModel)]
    assert {m.driver for m in models} >= set(DRIVERS) | set(REGISTRY.cameras)


def test_config_typo_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "kind: device_model\ndriver: jump_rope\nmodel: X\nfirmware: '1'\n"
        "has_rtc: false\nconfig: {baudrat: 9600}\n"
    )
    with pytest.raises(ConfigError, match=r"bad.yaml.*baudrat"):
        load_model(path)


def test_unknown_driver_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "kind: device_model\ndriver: toaster\nmodel: X\nfirmware: '1'\nhas_rtc: false\n"
    )
    with pytest.raises(ConfigError, match="unknown driver 'toaster'"):
        load_model(path)
