"""Metric names, their canonical units, plausible ranges and unit conversions."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema


class Unit(StrEnum):
    """Units a reading may be expressed in on the wire."""

    BPM = "bpm"
    SECOND = "s"
    MILLISECOND = "ms"
    KILOJOULE = "kJ"
    KILOCALORIE = "kcal"
    COUNT = "count"
    PER_MINUTE = "1/min"
    PERCENT = "%"
    CELSIUS = "degC"
    FAHRENHEIT = "degF"
    ACUITY_5PT = "acuity_5pt"
    DECIMAL_ACUITY = "acuity_decimal"
    DIOPTRE = "D"
    DEGREE = "deg"
    BOOL = "bool"
    VOLT = "V"
    MILLIVOLT = "mV"
    # Parts per million by volume: CO2 in a classroom's air.
    PPM = "ppm"


class Metric(StrEnum):
    """Every metric the system stores. One place, so that drivers and the gateway agree."""

    HEART_RATE = "heart_rate"
    RR_INTERVAL = "rr_interval"
    ENERGY_EXPENDED = "energy_expended"
    SKIN_CONTACT = "skin_contact"
    ROPE_COUNT = "rope_count"
    ROPE_ELAPSED = "rope_elapsed"
    BATTERY = "battery"
    BODY_TEMPERATURE = "body_temperature"
    AMBIENT_TEMPERATURE = "ambient_temperature"
    ACUITY_UNCORRECTED_LEFT = "acuity_uncorrected_left"
    ACUITY_UNCORRECTED_RIGHT = "acuity_uncorrected_right"
    ACUITY_CORRECTED_LEFT = "acuity_corrected_left"
    ACUITY_CORRECTED_RIGHT = "acuity_corrected_right"
    SPHERE_LEFT = "sphere_left"
    SPHERE_RIGHT = "sphere_right"
    CYLINDER_LEFT = "cylinder_left"
    CYLINDER_RIGHT = "cylinder_right"
    AXIS_LEFT = "axis_left"
    AXIS_RIGHT = "axis_right"
    SPHERICAL_EQUIVALENT_LEFT = "spherical_equivalent_left"
    SPHERICAL_EQUIVALENT_RIGHT = "spherical_equivalent_right"
    REP_COUNT = "rep_count"
    CADENCE = "cadence"
    RUN_TIME = "run_time"
    CLOCK_OFFSET = "clock_offset"
    # A classroom's air (environment sensors): every vendor's sensor measures the same
    # quantities, and the limits of the classroom hygiene standards (GB/T 17226, CO2 at most
    # 0.15 %) are set on them, so they are built in rather than each vendor's own.
    RELATIVE_HUMIDITY = "relative_humidity"
    CO2 = "co2"


# A plug-in driver's metric: `vendor.metric`, both parts lower-case snake case, so that it can
# never be mistaken for (or shadow) a built-in metric, which has no dot.
VENDOR_METRIC_PATTERN = r"[a-z][a-z0-9_]{1,31}\.[a-z][a-z0-9_]{0,47}"
_VENDOR_METRIC = re.compile(VENDOR_METRIC_PATTERN)


class MetricNameError(ValueError):
    """A metric name is neither built in nor a well-formed `vendor.metric`."""


class VendorMetric(str):
    """A plug-in's metric name, `vendor.metric`; validated on construction.

    `.value` gives the name, as it does for a built-in `Metric`, so code that handles readings
    needs no case for either.
    """

    __slots__ = ()

    def __new__(cls, name: str) -> VendorMetric:
        if not isinstance(name, str) or not _VENDOR_METRIC.fullmatch(name):
            raise MetricNameError(
                f"metric {str(name)[:80]!r} is neither a built-in metric nor a vendor metric "
                "`vendor.metric` (lower-case letters, digits and _, e.g. acme.jump_rate)"
            )
        return super().__new__(cls, name)

    @property
    def value(self) -> str:
        return str(self)

    @property
    def vendor(self) -> str:
        return self.split(".", 1)[0]

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls,
            core_schema.str_schema(pattern=f"^{VENDOR_METRIC_PATTERN}$", strict=True),
            serialization=core_schema.to_string_ser_schema(),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": f"^{VENDOR_METRIC_PATTERN}$",
            "description": "a plug-in driver's metric, vendor.metric",
        }


# Built-in metrics stay a typed enum; a plug-in's are VendorMetric.
MetricName = Metric | VendorMetric


def metric_name(name: str) -> MetricName:
    """The built-in Metric called *name*, else a VendorMetric; MetricNameError otherwise."""
    try:
        return Metric(name)
    except ValueError:
        return VendorMetric(name)


@dataclass(frozen=True)
class MetricSpec:
    """Canonical unit of a metric and the range a real measurement can fall in."""

    unit: Unit
    minimum: float
    maximum: float


# Ranges are physical plausibility limits, not alert thresholds: a value outside them is a
# broken sensor or a bad frame, and is dead-lettered rather than stored.
METRICS: dict[Metric, MetricSpec] = {
    Metric.HEART_RATE: MetricSpec(Unit.BPM, 0, 300),
    Metric.RR_INTERVAL: MetricSpec(Unit.SECOND, 0, 64),
    Metric.ENERGY_EXPENDED: MetricSpec(Unit.KILOJOULE, 0, 65535),
    Metric.SKIN_CONTACT: MetricSpec(Unit.BOOL, 0, 1),
    Metric.ROPE_COUNT: MetricSpec(Unit.COUNT, 0, 100_000),
    Metric.ROPE_ELAPSED: MetricSpec(Unit.SECOND, 0, 86_400),
    Metric.BATTERY: MetricSpec(Unit.PERCENT, 0, 100),
    Metric.BODY_TEMPERATURE: MetricSpec(Unit.CELSIUS, 25, 45),
    Metric.AMBIENT_TEMPERATURE: MetricSpec(Unit.CELSIUS, -40, 60),
    Metric.ACUITY_UNCORRECTED_LEFT: MetricSpec(Unit.ACUITY_5PT, 3.0, 5.3),
    Metric.ACUITY_UNCORRECTED_RIGHT: MetricSpec(Unit.ACUITY_5PT, 3.0, 5.3),
    Metric.ACUITY_CORRECTED_LEFT: MetricSpec(Unit.ACUITY_5PT, 3.0, 5.3),
    Metric.ACUITY_CORRECTED_RIGHT: MetricSpec(Unit.ACUITY_5PT, 3.0, 5.3),
    Metric.SPHERE_LEFT: MetricSpec(Unit.DIOPTRE, -30, 30),
    Metric.SPHERE_RIGHT: MetricSpec(Unit.DIOPTRE, -30, 30),
    Metric.CYLINDER_LEFT: MetricSpec(Unit.DIOPTRE, -10, 10),
    Metric.CYLINDER_RIGHT: MetricSpec(Unit.DIOPTRE, -10, 10),
    Metric.AXIS_LEFT: MetricSpec(Unit.DEGREE, 0, 180),
    Metric.AXIS_RIGHT: MetricSpec(Unit.DEGREE, 0, 180),
    Metric.SPHERICAL_EQUIVALENT_LEFT: MetricSpec(Unit.DIOPTRE, -35, 35),
    Metric.SPHERICAL_EQUIVALENT_RIGHT: MetricSpec(Unit.DIOPTRE, -35, 35),
    Metric.REP_COUNT: MetricSpec(Unit.COUNT, 0, 100_000),
    Metric.CADENCE: MetricSpec(Unit.PER_MINUTE, 0, 1_000),
    # A timed run (50 m .. 1000 m, 50 m×8) from a timing device.
    Metric.RUN_TIME: MetricSpec(Unit.SECOND, 0, 3_600),
    Metric.CLOCK_OFFSET: MetricSpec(Unit.SECOND, -1e9, 1e9),
    Metric.RELATIVE_HUMIDITY: MetricSpec(Unit.PERCENT, 0, 100),
    # NDIR sensors read to 5,000 or 10,000 ppm; 40,000 ppm is already immediately dangerous.
    Metric.CO2: MetricSpec(Unit.PPM, 0, 40_000),
}


def _decimal_to_5pt(v: float) -> float:
    import math

    if v <= 0:
        raise ValueError("decimal acuity must be positive")
    # GB 11533: L = 5 + log10(V)
    return round(5.0 + math.log10(v), 2)


# Conversions into each canonical unit: (from unit, to unit) -> function.
CONVERSIONS: dict[tuple[Unit, Unit], Callable[[float], float]] = {
    (Unit.MILLISECOND, Unit.SECOND): lambda v: v / 1000.0,
    (Unit.KILOCALORIE, Unit.KILOJOULE): lambda v: v * 4.184,
    (Unit.FAHRENHEIT, Unit.CELSIUS): lambda v: (v - 32.0) * 5.0 / 9.0,
    (Unit.DECIMAL_ACUITY, Unit.ACUITY_5PT): _decimal_to_5pt,
    (Unit.MILLIVOLT, Unit.VOLT): lambda v: v / 1000.0,
}


class UnitError(ValueError):
    """A value's unit does not fit its metric, or the value is outside the metric's range."""


def normalize(
    metric: MetricName, value: float, unit: Unit, spec: MetricSpec | None = None
) -> tuple[float, Unit]:
    """Convert a value to its metric's canonical unit and check it is physically plausible.

    A vendor metric is checked against *spec* (what its plug-in declared) when given; without
    it (a gateway that does not run the plug-in) it is kept as sent: its unit is already one of
    the fixed set, and its range is the plug-in's to check at the edge.
    """
    if spec is None:
        if isinstance(metric, VendorMetric):
            return value, unit
        spec = METRICS[metric]
    if unit != spec.unit:
        convert = CONVERSIONS.get((unit, spec.unit))
        if convert is None:
            raise UnitError(
                f"{metric.value}: unit {unit.value!r} cannot be converted to {spec.unit.value!r}"
            )
        value = convert(value)
    if not spec.minimum <= value <= spec.maximum:
        raise UnitError(
            f"{metric.value}: {value:g} {spec.unit.value} is outside the plausible "
            f"range {spec.minimum:g}..{spec.maximum:g}"
        )
    return value, spec.unit
