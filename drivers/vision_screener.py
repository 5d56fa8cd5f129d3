"""Vision screeners: campusedge screening record line protocol v1 over serial.

Our own documented protocol: one ASCII line per student record, comma-separated, closed by
`;` and a CRC-16/CCITT-FALSE (see drivers/crc.py) of every byte before the `;`, as four
upper-case hex digits:

    #VS,<rec>,<subject>,<UA_R>,<UA_L>,<CA_R>,<CA_L>,<S_R>,<C_R>,<A_R>,<S_L>,<C_L>,<A_L>;<CRC>\\r\\n

| field | format | meaning |
|---|---|---|
| rec | 1-10 digits | the screener's record counter |
| subject | `S-` then 8-32 hex digits | pseudonymous student id from the class list |
| UA_R, UA_L | 5-point d.d (3.0-5.3) or empty | uncorrected distance acuity, right/left |
| CA_R, CA_L | same, or empty (no glasses) | corrected acuity |
| S_R, S_L | signed dioptres, e.g. -1.25 | non-cycloplegic autorefraction sphere |
| C_R, C_L | signed dioptres | cylinder (either sign convention; see Config) |
| A_R, A_L | integer degrees 0-180 | cylinder axis |

An eye's refraction is all three values or none. The spherical equivalent (sphere + cylinder/2)
is derived here, not sent. The 5-point (logarithmic) scale is GB 11533: L = 5 + log10(V).
The screener has no clock: the edge agent stamps the time it received the record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from pydantic import Field

from campusedge.contract import Event, Reading, TimeQuality
from campusedge.topics import DeviceKind
from campusedge.units import Metric, Unit
from drivers.base import Decoded, DecodeError, DriverConfig, Framer, reading
from drivers.crc import crc16_ccitt
from drivers.lines import LineFramer, ascii_fields

MAX_LINE = 200
# The subject a screener can send: a pseudonymous class-list id (simulators pick these too).
SUBJECT = re.compile(r"^S-[0-9A-F]{8,32}$")
_ACUITY = re.compile(r"^[345]\.\d$")
_DIOPTRE = re.compile(r"^[+-]?\d{1,2}\.\d{2}$")
_AXIS = re.compile(r"^\d{1,3}$")
_REC = re.compile(r"^\d{1,10}$")


class Config(DriverConfig):
    """Screener settings."""

    baudrate: int = Field(default=9600, gt=0)
    # Ophthalmic practice in China records minus cylinder; screeners that print plus cylinder
    # are transposed (sphere + cyl, -cyl, axis ± 90) so every record compares alike.
    transpose_to_minus_cylinder: bool = True


@dataclass(frozen=True)
class Refraction:
    sphere: float
    cylinder: float
    axis: int

    @property
    def spherical_equivalent(self) -> float:
        return round(self.sphere + self.cylinder / 2, 3)

    def minus_cylinder(self) -> Refraction:
        if self.cylinder <= 0:
            return self
        axis = self.axis + 90 if self.axis <= 90 else self.axis - 90
        return Refraction(round(self.sphere + self.cylinder, 2), -self.cylinder, axis)


@dataclass(frozen=True)
class Record:
    record_no: int
    subject: str
    uncorrected: tuple[float | None, float | None]  # right, left
    corrected: tuple[float | None, float | None]
    refraction: tuple[Refraction | None, Refraction | None]


def _fmt(v: float | None, spec: str) -> str:
    return "" if v is None else format(v, spec)


def encode(rec: Record) -> bytes:
    """One record line (used by the simulator and the round-trip tests)."""
    parts = ["#VS", str(rec.record_no), rec.subject]
    parts += [_fmt(v, ".1f") for v in (*rec.uncorrected, *rec.corrected)]
    for r in rec.refraction:
        parts += (
            ["", "", ""] if r is None else [f"{r.sphere:+.2f}", f"{r.cylinder:+.2f}", str(r.axis)]
        )
    text = ",".join(parts)
    return f"{text};{crc16_ccitt(text.encode('ascii')):04X}\r\n".encode("ascii")


def _acuity(text: str, what: str) -> float | None:
    if not text:
        return None
    if not _ACUITY.fullmatch(text):
        raise DecodeError(f"screening record: {what} {text!r} is not a 5-point acuity like 4.9")
    return float(text)


def _refraction(s: str, c: str, a: str, eye: str) -> Refraction | None:
    if not (s or c or a):
        return None
    if not (s and c and a):
        raise DecodeError(
            f"screening record: {eye} eye refraction needs sphere, cylinder and axis together"
        )
    for value, what in ((s, "sphere"), (c, "cylinder")):
        if not _DIOPTRE.fullmatch(value):
            raise DecodeError(
                f"screening record: {eye} {what} {value!r} is not dioptres like -1.25"
            )
    if not _AXIS.fullmatch(a) or int(a) > 180:
        raise DecodeError(f"screening record: {eye} axis {a!r} is not 0-180 degrees")
    return Refraction(float(s), float(c), int(a))


def parse(frame: bytes) -> Record:
    text = ascii_fields(frame.rstrip(b"\r\n"), "screening record")
    body, sep, given = text.rpartition(";")
    if not sep:
        raise DecodeError("screening record: no ';' before the CRC")
    want = f"{crc16_ccitt(body.encode('ascii')):04X}"
    if given != want:
        raise DecodeError(f"screening record: CRC {given!r} does not match {want!r}")
    f = body.split(",")
    if f[0] != "#VS":
        raise DecodeError(f"screening record: unknown record type {f[0]!r}")
    if len(f) != 13:
        raise DecodeError(f"screening record: {len(f)} fields, expected 13")
    if not _REC.fullmatch(f[1]):
        raise DecodeError(f"screening record: record number {f[1]!r} is not a number")
    if not SUBJECT.fullmatch(f[2]):
        raise DecodeError(f"screening record: subject {f[2]!r} is not S- and 8-32 hex digits")
    rec = Record(
        record_no=int(f[1]),
        subject=f[2],
        uncorrected=(
            _acuity(f[3], "right uncorrected acuity"),
            _acuity(f[4], "left uncorrected acuity"),
        ),
        corrected=(_acuity(f[5], "right corrected acuity"), _acuity(f[6], "left corrected acuity")),
        refraction=(
            _refraction(f[7], f[8], f[9], "right"),
            _refraction(f[10], f[11], f[12], "left"),
        ),
    )
    if rec.uncorrected == (None, None) and rec.refraction == (None, None):
        raise DecodeError("screening record: neither acuity nor refraction was measured")
    return rec


_ACUITY_METRICS = {
    ("uncorrected", 0): Metric.ACUITY_UNCORRECTED_RIGHT,
    ("uncorrected", 1): Metric.ACUITY_UNCORRECTED_LEFT,
    ("corrected", 0): Metric.ACUITY_CORRECTED_RIGHT,
    ("corrected", 1): Metric.ACUITY_CORRECTED_LEFT,
}
_REFRACTION_METRICS = (
    (
        Metric.SPHERE_RIGHT,
        Metric.CYLINDER_RIGHT,
        Metric.AXIS_RIGHT,
        Metric.SPHERICAL_EQUIVALENT_RIGHT,
    ),
    (Metric.SPHERE_LEFT, Metric.CYLINDER_LEFT, Metric.AXIS_LEFT, Metric.SPHERICAL_EQUIVALENT_LEFT),
)


class VisionScreener:
    """Driver for vision screeners."""

    name: ClassVar[str] = "vision_screener"
    kind: ClassVar[DeviceKind] = DeviceKind.VISION_SCREENER
    Config: ClassVar[type[DriverConfig]] = Config

    def framer(self, cfg: DriverConfig) -> Framer:
        return LineFramer(b"#", MAX_LINE)

    def decode(self, frame: bytes, cfg: DriverConfig) -> list[Decoded]:
        assert isinstance(cfg, Config)
        rec = parse(frame)
        readings: list[Reading] = []
        for which, values in (("uncorrected", rec.uncorrected), ("corrected", rec.corrected)):
            for eye, value in enumerate(values):
                if value is not None:
                    metric = _ACUITY_METRICS[(which, eye)]
                    readings.append(reading(metric, value, Unit.ACUITY_5PT, metric.value))
        for eye, refr in enumerate(rec.refraction):
            if refr is None:
                continue
            if cfg.transpose_to_minus_cylinder:
                refr = refr.minus_cylinder()
            sph, cyl, axis, se = _REFRACTION_METRICS[eye]
            readings += [
                reading(sph, refr.sphere, Unit.DIOPTRE, sph.value),
                reading(cyl, refr.cylinder, Unit.DIOPTRE, cyl.value),
                reading(axis, refr.axis, Unit.DEGREE, axis.value),
                reading(se, refr.spherical_equivalent, Unit.DIOPTRE, se.value),
            ]
        event = Event(
            type="vision_screening",
            readings=readings,
            attributes={"subject_id": rec.subject, "record_no": rec.record_no},
        )
        return [Decoded(event=event, time_quality=TimeQuality.RECEIVED, frame_id=rec.record_no)]
