"""The drivers the edge agent can run, by the name firmware configs use (`driver: …`).

The built-in tables below, plus the plug-ins third-party packages register under the
`campusedge.drivers` entry point group (drivers/plugin.py), found once when first asked for.
An entry point is named in configuration by packaging metadata, never by a string from a
firmware config: nothing is imported that the box's installed distributions do not declare.
A plug-in that fails to import or to pass the checks here is named (logged, and listed by
`campusedge drivers list`) and skipped; the rest of the box runs.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from pydantic import BaseModel, ValidationError

from campusedge.units import VendorMetric
from drivers.base import Driver, DriverConfig
from drivers.hr_band import HrBand
from drivers.jump_rope import JumpRope
from drivers.modbus import Modbus
from drivers.pe_station import PeStationCamera
from drivers.plugin import DRIVER_NAME, ENTRY_POINT_GROUP, PLUGIN_KINDS, DriverPlugin
from drivers.plugin import VendorMetricSpec as VendorMetricSpec
from drivers.temp_gate import TempGate
from drivers.thermometer import Thermometer
from drivers.vision_screener import VisionScreener

log = logging.getLogger(__name__)

# Byte-stream protocols: framer + decoder.
DRIVERS: dict[str, Driver] = {
    "hr_band": HrBand(),
    "jump_rope": JumpRope(),
    # Polled rather than streamed: its transport asks for registers and hands over a frame.
    "modbus": Modbus(),
    "temp_gate": TempGate(),
    "thermometer": Thermometer(),
    "vision_screener": VisionScreener(),
}

# Frame sources without a byte protocol (decoded by on-device inference, not by a codec).
CAMERAS: dict[str, PeStationCamera] = {
    "pe_station": PeStationCamera(),
}

BUILT_IN = "built-in"


class UnknownDriverError(KeyError):
    """A config names a driver that is not registered."""


class PluginError(ValueError):
    """A plug-in does not meet the contract; the message says what is wrong."""


@dataclass(frozen=True)
class PluginProblem:
    """A plug-in that was skipped, and why."""

    name: str
    origin: str
    reason: str


@dataclass(frozen=True)
class Registry:
    """The built-in drivers and the plug-ins that loaded, and the plug-ins that did not."""

    drivers: Mapping[str, Driver]
    cameras: Mapping[str, PeStationCamera]
    plugins: Mapping[str, DriverPlugin] = field(default_factory=dict)
    origins: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[PluginProblem, ...] = ()

    def config_model(self, name: str) -> type[DriverConfig]:
        """The pydantic Config class of driver *name*."""
        if name in self.drivers:
            return self.drivers[name].Config
        if name in self.cameras:
            return self.cameras[name].Config
        known = ", ".join(sorted([*self.drivers, *self.cameras]))
        skipped = [p for p in self.problems if p.name == name]
        why = f" (its plug-in was skipped: {skipped[0].reason})" if skipped else ""
        raise UnknownDriverError(f"unknown driver {name!r}{why}; known drivers: {known}")

    def origin(self, name: str) -> str:
        """`built-in`, or the distribution and version a plug-in came from."""
        return self.origins.get(name, BUILT_IN)

    @property
    def vendor_metrics(self) -> dict[VendorMetric, VendorMetricSpec]:
        return {m.name: m for p in self.plugins.values() for m in p.metrics}

    def device_model_dirs(self) -> list[Path]:
        """Folders of the device-model files plug-ins ship."""
        return [p.device_models for p in self.plugins.values() if p.device_models is not None]


def _origin(ep: EntryPoint) -> str:
    dist = ep.dist
    if dist is None:
        return f"entry point {ep.value}"
    return f"{dist.name} {dist.version}"


def check_plugin(name: str, plugin: object, taken: Iterable[str]) -> DriverPlugin:
    """*plugin* as a DriverPlugin that meets the contract, else PluginError saying why."""
    if not isinstance(plugin, DriverPlugin):
        raise PluginError(f"the entry point gives a {type(plugin).__name__}, not a DriverPlugin")
    driver = plugin.driver
    if not DRIVER_NAME.fullmatch(name):
        raise PluginError(f"name {name!r} is not lower-case letters, digits and _ (2-48)")
    if getattr(driver, "name", None) != name:
        raise PluginError(
            f"the entry point is named {name!r} but its driver {getattr(driver, 'name', None)!r}"
        )
    if name in taken:
        raise PluginError(f"driver name {name!r} is already taken")
    kind = getattr(driver, "kind", None)
    if kind not in PLUGIN_KINDS:
        kinds = ", ".join(sorted(k.value for k in PLUGIN_KINDS))
        raise PluginError(f"kind {kind!r} is not one a plug-in may stand for ({kinds})")
    for method in ("framer", "decode"):
        if not callable(getattr(driver, method, None)):
            raise PluginError(f"the driver has no {method}() method")
    config = getattr(driver, "Config", None)
    if not (isinstance(config, type) and issubclass(config, DriverConfig)):
        raise PluginError("its Config is not a subclass of drivers.base.DriverConfig")
    if config.model_config.get("extra") != "forbid":
        raise PluginError("its Config must forbid unknown fields (a typo must fail at start)")
    try:
        config.model_json_schema()
        config()
    except ValidationError as exc:
        raise PluginError(
            f"its Config has an option without a default: {exc.errors()[0]}"
        ) from None
    except Exception as exc:  # a broken schema raises whatever pydantic meets in it
        raise PluginError(f"its Config schema is invalid: {type(exc).__name__}: {exc}") from None
    if not callable(plugin.sample_frames):
        raise PluginError("it has no simulator (sample_frames)")
    seen: set[str] = set()
    for metric in plugin.metrics:
        if not isinstance(metric, VendorMetricSpec):
            raise PluginError(f"metric {metric!r} is not a VendorMetricSpec")
        if metric.name in seen:
            raise PluginError(f"metric {metric.name} is declared twice")
        seen.add(metric.name)
    return plugin


def load_registry(found: Iterable[EntryPoint] | None = None) -> Registry:
    """The built-in tables plus the plug-ins among *found* (default: the installed ones)."""
    if found is None:
        found = entry_points(group=ENTRY_POINT_GROUP)
    drivers: dict[str, Driver] = dict(DRIVERS)
    plugins: dict[str, DriverPlugin] = {}
    origins: dict[str, str] = {}
    problems: list[PluginProblem] = []
    metrics: dict[str, str] = {}
    for ep in sorted(found, key=lambda e: e.name):
        origin = _origin(ep)
        try:
            try:
                loaded = ep.load()
            except Exception as exc:  # third-party import code may raise anything at all
                raise PluginError(
                    f"cannot import {ep.value}: {type(exc).__name__}: {exc}"
                ) from None
            plugin = check_plugin(ep.name, loaded, [*drivers, *CAMERAS])
            for metric in plugin.metrics:
                if metric.name in metrics:
                    raise PluginError(
                        f"metric {metric.name} is already declared by {metrics[metric.name]}"
                    )
        except PluginError as exc:
            problems.append(PluginProblem(ep.name, origin, str(exc)))
            log.error("driver plug-in %r from %s skipped: %s", ep.name, origin, exc)
            continue
        for metric in plugin.metrics:
            metrics[metric.name] = ep.name
        drivers[ep.name] = plugin.driver
        plugins[ep.name] = plugin
        origins[ep.name] = origin
        log.info("driver plug-in %r loaded from %s", ep.name, origin)
    return Registry(drivers, dict(CAMERAS), plugins, origins, tuple(problems))


@functools.cache
def registry() -> Registry:
    """The registry of this process: entry points are read once, at the first use."""
    return load_registry()


def config_model(name: str) -> type[BaseModel]:
    """The pydantic Config class of driver *name*."""
    return registry().config_model(name)
