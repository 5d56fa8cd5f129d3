"""What a third-party package registers under the `campusedge.drivers` entry point group.

A plug-in package declares, in its own pyproject.toml,

    [project.entry-points."campusedge.drivers"]
    acme_rope = "campusedge_vendor_rope:plugin"

where `plugin` is a `DriverPlugin`: the driver (its Config, framer and decoder), a simulator
that makes sample frames, the vendor metrics it publishes with their units and plausible
ranges, and where its golden test data and device-model files are. The entry point's name is
the driver's name, the one firmware configs use (`driver: acme_rope`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from campusedge.contract import Reading
from campusedge.topics import DeviceKind
from campusedge.units import MetricSpec, Unit, UnitError, VendorMetric, normalize
from drivers.base import DecodeError, Driver

ENTRY_POINT_GROUP = "campusedge.drivers"
# Like a built-in driver's name: it is a YAML value, a log field and a folder name.
DRIVER_NAME = re.compile(r"[a-z][a-z0-9_]{1,47}")
# Byte-stream kinds a plug-in may stand for; its readings and events then follow that kind's
# contract (a vendor rope base station is a jump_rope, and its rope_result events are checked
# as a jump_rope's).
PLUGIN_KINDS = frozenset(
    {
        DeviceKind.HR_BAND,
        DeviceKind.JUMP_ROPE,
        DeviceKind.TEMP_GATE,
        DeviceKind.THERMOMETER,
        DeviceKind.VISION_SCREENER,
    }
)


@dataclass(frozen=True)
class VendorMetricSpec:
    """A metric a plug-in publishes: `vendor.metric`, its unit (of the fixed set), its range."""

    name: VendorMetric
    unit: Unit
    minimum: float
    maximum: float
    description: str = ""

    def __post_init__(self) -> None:
        # Checked here as well as by the types: a plug-in is not type-checked with this tree.
        VendorMetric(self.name)
        if not isinstance(self.unit, Unit):
            raise ValueError(f"{self.name}: unit {self.unit!r} is not one of the fixed Unit set")
        if not self.minimum <= self.maximum:
            raise ValueError(f"{self.name}: minimum {self.minimum} is above maximum {self.maximum}")

    @property
    def spec(self) -> MetricSpec:
        return MetricSpec(self.unit, self.minimum, self.maximum)

    def reading(self, value: float, where: str) -> Reading:
        """A reading of this metric checked against its range, else DecodeError naming *where*."""
        try:
            normalize(self.name, float(value), self.unit, self.spec)
        except UnitError as exc:
            raise DecodeError(f"{where}: {exc}") from None
        return Reading(metric=self.name, value=value, unit=self.unit)


@dataclass(frozen=True)
class DriverPlugin:
    """Everything the registry and the driver contract test need from a plug-in."""

    driver: Driver
    # The simulator: a few frames as the device sends them (the contract test decodes them).
    sample_frames: Callable[[random.Random], list[bytes]]
    metrics: tuple[VendorMetricSpec, ...] = ()
    # Golden folders `<case>/input.hex|input.txt` + `expected.json` or `expected.err`.
    testdata: Path | None = None
    # Device-model YAMLs (`kind: device_model`, `driver: <name>`) that edge-box files may name.
    device_models: Path | None = None
    # The frame format carries no checksum, so a flipped bit cannot be detected (BLE GATT
    # characteristics); the contract test then checks truncation only.
    checksummed: bool = True
