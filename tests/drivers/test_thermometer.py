"""The 0x2A1C decoder: IEEE 11073 FLOAT vectors, special values, and no crash on any bytes."""

from __future__ import annotations

import contextlib
import math
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.base import DecodeError
from drivers.thermometer import (
    Config,
    Special,
    TemperatureType,
    Thermometer,
    encode,
    parse,
    parse_float,
)

# The FLOAT examples of the HL7 Personal Health Devices implementation guide ("MDER FLOATs
# and SFLOATs", hl7.org/fhir/uv/phd), written there as 32-bit words, most significant first.
HL7_FLOATS = [
    (0x00000002, 2.0),
    (0xFF000014, 2.0),
    (0xFE0000C8, 2.0),
    (0x01000002, 20.0),
    (0x02000002, 200.0),
    (0x000000C8, 200.0),
    (0x000004D2, 1234.0),
    (0x00FFFB2E, -1234.0),
]
# Its table of special values, the same as ISO/IEEE 11073-20601's.
HL7_SPECIALS = [
    (0x007FFFFF, Special.NAN),
    (0x007FFFFE, Special.PLUS_INFINITY),
    (0x00800002, Special.MINUS_INFINITY),
    (0x00800000, Special.NRES),
    (0x00800001, Special.RESERVED),
]


@pytest.mark.parametrize(("word", "value"), HL7_FLOATS, ids=[f"{w:08X}" for w, _ in HL7_FLOATS])
def test_float_examples(word: int, value: float) -> None:
    assert parse_float(word.to_bytes(4, "little")) == value


@pytest.mark.parametrize(("word", "special"), HL7_SPECIALS, ids=[s for _, s in HL7_SPECIALS])
def test_float_special_values(word: int, special: Special) -> None:
    assert parse_float(word.to_bytes(4, "little")) is special
    # The same mantissa with another exponent is an ordinary (large) number.
    other = parse_float((word | 0x01000000).to_bytes(4, "little"))
    assert isinstance(other, float) and math.isfinite(other)


def test_decimal_values_are_the_nearest_float() -> None:
    assert parse_float(bytes.fromhex("6c0100ff")) == 36.4  # 364 x 10^-1, not 36.400000000000006


def test_a_measurement_keeps_every_field() -> None:
    when = datetime(2026, 9, 1, 7, 45, 30)
    m = parse(encode(98.6, fahrenheit=True, timestamp=when, temperature_type=3, decimals=1))
    assert (m.value, m.fahrenheit, m.timestamp, m.site) == (98.6, True, when, TemperatureType.EAR)


def test_special_values_are_refused_with_their_meaning() -> None:
    driver = Thermometer()
    with pytest.raises(DecodeError, match="not at this resolution"):
        driver.decode(encode(Special.NRES), Config())


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=40))
def test_no_byte_string_crashes_the_decoder(data: bytes) -> None:
    driver = Thermometer()
    with contextlib.suppress(DecodeError):
        parse(data)
    try:
        decoded = driver.decode(data, Config())
    except DecodeError as exc:
        assert str(exc).startswith(("temperature measurement", "IEEE 11073"))
        return
    [item] = decoded
    assert item.readings[0].metric == "body_temperature"


@settings(max_examples=200, deadline=None)
@given(
    centi=st.integers(3000, 4300),
    fahrenheit=st.booleans(),
    when=st.none() | st.datetimes(datetime(1582, 1, 1), datetime(9999, 12, 31)),
    site=st.none() | st.integers(0, 255),
)
def test_round_trip(centi: int, fahrenheit: bool, when: datetime | None, site: int | None) -> None:
    when = when.replace(microsecond=0) if when else None
    m = parse(encode(centi / 100, fahrenheit=fahrenheit, timestamp=when, temperature_type=site))
    assert (m.value, m.fahrenheit, m.timestamp, m.temperature_type) == (
        centi / 100,
        fahrenheit,
        when,
        site,
    )


def test_an_unknown_time_zone_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Asia/Beijing'"):
        Config(time_zone="Asia/Beijing")
