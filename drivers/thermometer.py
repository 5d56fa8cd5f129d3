"""Handheld IR thermometers: the Bluetooth Temperature Measurement characteristic (0x2A1C).

Each indication of characteristic 0x2A1C (Health Thermometer Service 0x1809) is one frame.
Layout, from the Bluetooth SIG Health Thermometer Service specification (HTS v1.0, section
3.1 Temperature Measurement) and the GATT Specification Supplement
(org.bluetooth.characteristic.temperature_measurement), integers little-endian:

- byte 0, flags: bit 0 = temperature in degrees Fahrenheit (else Celsius); bit 1 = time stamp
  present; bit 2 = temperature type present; bits 3-7 reserved for future use (ignored, as
  the specification asks of a receiver);
- temperature, an IEEE 11073-20601 32-bit FLOAT: signed 8-bit exponent in the most
  significant byte, signed 24-bit mantissa below it, value = mantissa x 10^exponent. Five
  values are not numbers (ISO/IEEE 11073-20601, as the Bluetooth Personal Health Devices
  Transcoding White Paper and the HL7 PHD implementation guide list them): 0x007FFFFF NaN,
  0x00800000 NRes (not at this resolution), 0x007FFFFE +INFINITY, 0x00800002 -INFINITY,
  0x00800001 reserved;
- time stamp (with flag bit 1), the Date Time characteristic (0x2A08), 7 bytes: year uint16
  (1582-9999, 0 = not known), month uint8 (1-12, 0 = not known), day uint8 (1-31, 0 = not
  known), hours 0-23, minutes 0-59, seconds 0-59, in the thermometer's local time (the
  zone is the config's `time_zone`);
- temperature type (with flag bit 2), uint8: 1 armpit, 2 body (general), 3 ear (usually
  earlobe), 4 finger, 5 gastro-intestinal tract, 6 mouth, 7 rectum, 8 toe, 9 tympanum (ear
  drum); 0 and 10-255 reserved for future use.

A measurement that is not a number (NaN, NRes, an infinity, the reserved value) carries no
temperature to publish: it is refused with DecodeError naming the special value, and the edge
agent counts it. The measurement site (temperature type) is decoded but not published: a
reading carries metric, value and unit only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from campusedge.contract import TimeQuality
from campusedge.topics import DeviceKind
from campusedge.units import Metric, Unit
from drivers.base import Decoded, DecodeError, DriverConfig, Framer, WholeFrames, need, reading

HEALTH_THERMOMETER_SERVICE = 0x1809
TEMPERATURE_MEASUREMENT = 0x2A1C
FLAG_FAHRENHEIT = 0x01
FLAG_TIMESTAMP = 0x02
FLAG_TYPE = 0x04
_DATE_TIME = struct.Struct("<HBBBBB")


class TemperatureType(IntEnum):
    """Where the temperature was taken (the Temperature Type characteristic, 0x2A1D)."""

    ARMPIT = 1
    BODY = 2
    EAR = 3
    FINGER = 4
    GASTROINTESTINAL_TRACT = 5
    MOUTH = 6
    RECTUM = 7
    TOE = 8
    TYMPANUM = 9


class Special(StrEnum):
    """The IEEE 11073-20601 FLOAT values that are not numbers."""

    NAN = "NaN"
    NRES = "NRes"
    PLUS_INFINITY = "+INFINITY"
    MINUS_INFINITY = "-INFINITY"
    RESERVED = "reserved"


SPECIAL_VALUES: dict[int, Special] = {
    0x007FFFFF: Special.NAN,
    0x00800000: Special.NRES,
    0x007FFFFE: Special.PLUS_INFINITY,
    0x00800002: Special.MINUS_INFINITY,
    0x00800001: Special.RESERVED,
}
_SPECIAL_MEANING = {
    Special.NAN: "not a number: the thermometer could not take a valid measurement",
    Special.NRES: "not at this resolution: the value is outside what the thermometer can show",
    Special.PLUS_INFINITY: "+INFINITY: the value is above the thermometer's range",
    Special.MINUS_INFINITY: "-INFINITY: the value is below the thermometer's range",
    Special.RESERVED: "a reserved FLOAT value (0x00800001)",
}


def parse_float(raw: bytes) -> float | Special:
    """An IEEE 11073-20601 32-bit FLOAT (4 bytes, little-endian) as a number or a Special."""
    if len(raw) != 4:
        raise DecodeError(f"IEEE 11073 FLOAT: {len(raw)} bytes, need 4")
    word = int.from_bytes(raw, "little")
    special = SPECIAL_VALUES.get(word)
    if special is not None:
        return special
    exponent = word >> 24
    if exponent >= 0x80:
        exponent -= 0x100
    mantissa = word & 0xFFFFFF
    if mantissa >= 0x800000:
        mantissa -= 0x1000000
    # Decimal, so 364 x 10^-1 is the float nearest 36.4, not 36.400000000000006.
    return float(Decimal(mantissa).scaleb(exponent))


def encode_float(mantissa: int, exponent: int) -> bytes:
    """The 4 bytes of mantissa x 10^exponent (the simulator's and the tests' encoder)."""
    if not -0x800000 <= mantissa <= 0x7FFFFF or not -128 <= exponent <= 127:
        raise ValueError(f"mantissa {mantissa} or exponent {exponent} does not fit a FLOAT")
    return ((exponent & 0xFF) << 24 | (mantissa & 0xFFFFFF)).to_bytes(4, "little")


@dataclass(frozen=True)
class Measurement:
    """The fields of one Temperature Measurement indication."""

    value: float | Special
    fahrenheit: bool = False
    # The thermometer's local time when year, month and day are all known; else None.
    timestamp: datetime | None = None
    timestamp_present: bool = False
    temperature_type: int | None = None  # the raw byte; `site` names the defined ones

    @property
    def site(self) -> TemperatureType | None:
        try:
            return TemperatureType(self.temperature_type) if self.temperature_type else None
        except ValueError:
            return None  # a reserved value: the site is not known to this decoder


def _timestamp(frame: bytes, pos: int) -> datetime | None:
    need(frame, pos + _DATE_TIME.size, "temperature measurement (time stamp)")
    year, month, day, hours, minutes, seconds = _DATE_TIME.unpack_from(frame, pos)
    where = f"temperature measurement: time stamp at offset {pos}"
    if year and not 1582 <= year <= 9999:
        raise DecodeError(f"{where}: year {year} is outside 1582..9999 (0 = not known)")
    if month > 12 or day > 31 or hours > 23 or minutes > 59 or seconds > 59:
        raise DecodeError(
            f"{where}: {year:04d}-{month:02d}-{day:02d} {hours:02d}:{minutes:02d}:{seconds:02d} "
            "is not a date and time"
        )
    if not (year and month and day):
        return None  # "not known": the thermometer's clock was never set
    try:
        return datetime(year, month, day, hours, minutes, seconds)
    except ValueError as exc:  # 31 April, 29 February of a common year
        raise DecodeError(f"{where}: {exc}") from None


def parse(frame: bytes) -> Measurement:
    """Parse one indication; DecodeError when truncated, too long or of impossible fields."""
    need(frame, 5, "temperature measurement")
    flags = frame[0]
    value = parse_float(frame[1:5])
    pos = 5
    timestamp = None
    if flags & FLAG_TIMESTAMP:
        timestamp = _timestamp(frame, pos)
        pos += _DATE_TIME.size
    temperature_type = None
    if flags & FLAG_TYPE:
        need(frame, pos + 1, "temperature measurement (temperature type)")
        temperature_type = frame[pos]
        pos += 1
    if len(frame) != pos:
        raise DecodeError(
            f"temperature measurement: {len(frame) - pos} trailing bytes at offset {pos} "
            f"that flags 0x{flags:02X} do not announce"
        )
    return Measurement(
        value=value,
        fahrenheit=bool(flags & FLAG_FAHRENHEIT),
        timestamp=timestamp,
        timestamp_present=bool(flags & FLAG_TIMESTAMP),
        temperature_type=temperature_type,
    )


def encode(
    value: float | Special,
    *,
    fahrenheit: bool = False,
    timestamp: datetime | None = None,
    temperature_type: int | None = None,
    decimals: int = 2,
) -> bytes:
    """The indication a thermometer sends (the simulator's and the round-trip tests' encoder)."""
    flags = (FLAG_FAHRENHEIT if fahrenheit else 0) | (FLAG_TIMESTAMP if timestamp else 0)
    flags |= FLAG_TYPE if temperature_type is not None else 0
    if isinstance(value, Special):
        word = next(w for w, s in SPECIAL_VALUES.items() if s is value)
        raw = word.to_bytes(4, "little")
    else:
        raw = encode_float(round(value * 10**decimals), -decimals)
    out = bytearray([flags]) + raw
    if timestamp is not None:
        t = timestamp
        out += _DATE_TIME.pack(t.year, t.month, t.day, t.hour, t.minute, t.second)
    if temperature_type is not None:
        out.append(temperature_type)
    return bytes(out)


class Config(DriverConfig):
    """How to turn a thermometer's indications into readings."""

    # A handheld's clock is set by its phone app, if ever; without it the box's receive time
    # is the better one (a clock far off is corrected by the agent's offset estimate anyway).
    use_device_time: bool = Field(
        default=True, description="stamp readings with the thermometer's own time stamp"
    )
    # The Date Time field has no zone: a phone app sets the thermometer to local time. Read as
    # UTC, a school's thermometers would all seem eight hours off (and raise clock drift).
    time_zone: str = Field(
        default="Asia/Shanghai", description="IANA time zone the thermometer's clock keeps"
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name, e.g. Asia/Shanghai)"
            ) from None
        return value


class Thermometer:
    """Driver for Bluetooth Health Thermometer devices (handheld IR thermometers)."""

    name: ClassVar[str] = "thermometer"
    kind: ClassVar[DeviceKind] = DeviceKind.THERMOMETER
    Config: ClassVar[type[DriverConfig]] = Config

    def framer(self, cfg: DriverConfig) -> Framer:
        return WholeFrames()

    def decode(self, frame: bytes, cfg: DriverConfig) -> list[Decoded]:
        assert isinstance(cfg, Config)
        m = parse(frame)
        if isinstance(m.value, Special):
            raise DecodeError(
                f"temperature measurement: no temperature, {_SPECIAL_MEANING[m.value]}"
            )
        unit = Unit.FAHRENHEIT if m.fahrenheit else Unit.CELSIUS
        temperature = reading(Metric.BODY_TEMPERATURE, m.value, unit, "temperature measurement")
        if m.timestamp is None or not cfg.use_device_time:
            return [Decoded(readings=[temperature], time_quality=TimeQuality.RECEIVED)]
        local = m.timestamp.replace(tzinfo=ZoneInfo(cfg.time_zone))
        return [
            Decoded(
                readings=[temperature],
                device_time_s=local.timestamp(),
                time_quality=TimeQuality.UNSYNCED,
            )
        ]
