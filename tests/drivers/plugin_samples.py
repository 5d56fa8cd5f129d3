"""Plug-ins with one thing wrong each, for the loader's tests (named by EntryPoint objects)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import ClassVar

from campusedge_vendor_rope import codec
from pydantic import ConfigDict

from campusedge.topics import DeviceKind
from campusedge.units import Unit, VendorMetric
from drivers.base import Decoded, DriverConfig
from drivers.plugin import DriverPlugin, VendorMetricSpec


def _frames(rng: random.Random) -> list[bytes]:
    return [codec.encode_live(1, 1, 10, 120, 0, 90)]


def _plugin(driver: object, *metrics: VendorMetricSpec) -> DriverPlugin:
    return DriverPlugin(driver=driver, sample_frames=_frames, metrics=metrics)  # type: ignore[arg-type]


class Renamed(codec.AcmeRope):
    name: ClassVar[str] = "other_rope"


class Edge(codec.AcmeRope):
    name: ClassVar[str] = "edge_rope"
    kind: ClassVar[DeviceKind] = DeviceKind.EDGE


class _Unschemable(DriverConfig):
    # Validates, but has no JSON Schema: a firmware YAML could never be checked against it.
    hook: Callable[[], None] | None = None


class Unschemable(codec.AcmeRope):
    name: ClassVar[str] = "unschemable"
    Config: ClassVar[type[DriverConfig]] = _Unschemable


class _Required(DriverConfig):
    port_name: str


class Required(codec.AcmeRope):
    name: ClassVar[str] = "required"
    Config: ClassVar[type[DriverConfig]] = _Required


class _Lenient(DriverConfig):
    model_config = ConfigDict(extra="allow", frozen=True)


class Lenient(codec.AcmeRope):
    name: ClassVar[str] = "lenient"
    Config: ClassVar[type[DriverConfig]] = _Lenient


class Buggy(codec.AcmeRope):
    """Fails with an IndexError on rope 13's frames: a plug-in with a bug."""

    def decode(self, frame: bytes, cfg: DriverConfig) -> list[Decoded]:
        if frame[4] == 13:
            return [Decoded(source=str([][0]))]
        return super().decode(frame, cfg)


SPEED = VendorMetricSpec(VendorMetric("other.speed"), Unit.PER_MINUTE, 0, 500)

other_rope = _plugin(Renamed(), SPEED)
# Declares the same metric as other_rope.
other_rope_twin = _plugin(type("Twin", (Renamed,), {"name": "other_rope_twin"})(), SPEED)
edge_kind = _plugin(Edge())
unschemable = _plugin(Unschemable())
required = _plugin(Required())
lenient = _plugin(Lenient())
not_a_plugin = 42
