"""The Modbus register map: refused at start when it cannot be right, and decoded exactly."""

from __future__ import annotations

import contextlib
import math
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import modbus
from drivers.base import DecodeError
from edge.config import ConfigError, load_box, load_model

HEAD = 'kind: device_model\ndriver: modbus\nmodel: X\nfirmware: "1"\nhas_rtc: false\nconfig:\n'


def _model(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "model.yaml"
    path.write_text(HEAD + body)
    return path


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (
            "    - {metric: co2, unit: ppm, address: 0, type: int32}\n"
            "    - {metric: relative_humidity, unit: '%', address: 1, type: uint16}\n",
            r"points\.1 \(line 9\): .*holding register 1 is already read by points\.0 \(co2\)",
        ),
        (
            "    - {metric: co2, unit: ppm, address: 0, type: int24}\n",
            r"points\.0\.type \(line 8\): Input should be 'int16', 'uint16'",
        ),
        (
            "    - {metric: co2, unit: ppm, address: 0, type: uint16}\n"
            "    - {metric: ambient_temperature, unit: ppm, address: 1, type: int16}\n",
            r"points\.1 \(line 9\): .*ambient_temperature is measured in degC; unit 'ppm'",
        ),
        (
            "    - {metric: co2, unit: ppm, address: 0, type: uint16, scale: 0}\n",
            r"points\.0 \(line 8\): .*scale 0",
        ),
        (
            "    - {metric: acme.flow, unit: '%', address: 0, type: uint16}\n",
            r"points\.0 \(line 8\): .*a vendor metric needs its plausible range",
        ),
        (
            "    - {metric: Flow Rate, unit: '%', address: 0, type: uint16}\n",
            r"points\.0\.metric \(line 8\): .*neither a built-in metric nor a vendor metric",
        ),
    ],
    ids=["overlap", "unknown_type", "unit_does_not_fit", "zero_scale", "vendor_range", "name"],
)
def test_a_bad_register_map_is_refused_with_its_line(
    tmp_path: Path, points: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_model(_model(tmp_path, "  points:\n" + points))


def test_the_counter_may_not_overlap_a_point(tmp_path: Path) -> None:
    body = (
        "  counter: {address: 1}\n"
        "  points:\n    - {metric: co2, unit: ppm, address: 0, type: uint32}\n"
    )
    with pytest.raises(ConfigError, match=r"counter.*already read by points\.0"):
        load_model(_model(tmp_path, body))


def test_units_on_a_line_are_numbers(tmp_path: Path) -> None:
    box = tmp_path / "box.yaml"
    box.write_text(
        "kind: edge_box\nedge_id: b\nschool: s\ndevices:\n"
        "  - {id: room, model: modbus_ce_env30, transport: {type: tcp, host: h, port: 502},"
        " ids: {A1: env-1}}\n"
    )
    with pytest.raises(ConfigError, match="'A1' is not a Modbus unit number"):
        load_box(box)


def test_adjacent_points_are_read_together_and_gaps_apart() -> None:
    cfg = modbus.Config.model_validate(
        {
            "points": [
                {"metric": "co2", "unit": "ppm", "address": 2, "type": "uint16"},
                {"metric": "relative_humidity", "unit": "%", "address": 0, "type": "uint32"},
                {"metric": "ambient_temperature", "unit": "degC", "address": 9, "type": "int16"},
                {"metric": "body_temperature", "unit": "degC", "address": 9,
                 "register_type": "input", "type": "int16"},
            ]
        }
    )  # fmt: skip
    assert cfg.blocks == (
        modbus.Block("holding", 0, 3),
        modbus.Block("holding", 9, 1),
        modbus.Block("input", 9, 1),
    )
    wide = cfg.model_copy(update={"max_gap": 6})
    assert modbus._plan(
        [("p", p.register_type, p.registers) for p in wide.points], wide.max_gap
    ) == (modbus.Block("holding", 0, 10), modbus.Block("input", 9, 1))


TYPES = st.sampled_from(["int16", "uint16", "int32", "uint32", "float32"])
ORDERS = st.sampled_from(["big", "little"])
LIMITS = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
}


@settings(max_examples=300, deadline=None)
@given(type_=TYPES, word=ORDERS, byte=ORDERS, data=st.data())
def test_every_type_and_order_round_trips(
    type_: str, word: str, byte: str, data: st.DataObject
) -> None:
    if type_ == "float32":
        raw: float = data.draw(st.floats(width=32, allow_nan=False, allow_infinity=False))
    else:
        raw = data.draw(st.integers(*LIMITS[type_]))
    words = modbus.encode_value(raw, type_, word, byte)
    assert len(words) == modbus.WIDTH[type_] and all(0 <= w <= 0xFFFF for w in words)
    assert modbus.raw_value(words, type_, word, byte) == raw


def test_orders_are_the_named_byte_sequences() -> None:
    # 0x11223344 as the four orders devices use: ABCD, CDAB, BADC, DCBA.
    value = 0x11223344
    assert modbus.encode_value(value, "uint32", "big", "big") == [0x1122, 0x3344]
    assert modbus.encode_value(value, "uint32", "little", "big") == [0x3344, 0x1122]
    assert modbus.encode_value(value, "uint32", "big", "little") == [0x2211, 0x4433]
    assert modbus.encode_value(value, "uint32", "little", "little") == [0x4433, 0x2211]
    assert struct.pack(">f", modbus.raw_value([0x41AC, 0], "float32", "big", "big")) == struct.pack(
        ">I", 0x41AC0000
    )


CFG = modbus.Config.model_validate(
    {
        "counter": {"address": 0},
        "points": [
            {"metric": "body_temperature", "unit": "degC", "address": 1, "type": "int16",
             "scale": 0.01},
            {"metric": "co2", "unit": "ppm", "address": 2, "type": "float32",
             "word_order": "little", "register_type": "input"},
        ],
    }
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(frame=st.binary(max_size=64))
def test_any_bytes_decode_or_raise_decode_error(frame: bytes) -> None:
    with contextlib.suppress(DecodeError):
        modbus.Modbus().decode(frame, CFG)


@settings(max_examples=300, deadline=None)
@given(
    held=st.lists(st.integers(0, 0xFFFF), min_size=2, max_size=2),
    inputs=st.lists(st.integers(0, 0xFFFF), min_size=2, max_size=2),
)
def test_any_register_values_decode_or_raise_decode_error(
    held: list[int], inputs: list[int]
) -> None:
    frame = modbus.encode_block(modbus.Block("holding", 0, 2), held) + modbus.encode_block(
        modbus.Block("input", 2, 2), inputs
    )
    try:
        (decoded,) = modbus.Modbus().decode(frame, CFG)
    except DecodeError:
        return
    assert decoded.frame_id == held[0]
    assert all(math.isfinite(r.value) for r in decoded.readings)


def test_a_frame_in_another_block_order_decodes_the_same() -> None:
    # The poller lays blocks out as plan() orders them, and decode reads values straight from
    # there; blocks in any other order are found by address, with the same result.
    holding = modbus.encode_block(modbus.Block("holding", 0, 2), [7, 3651])
    inputs = modbus.encode_block(modbus.Block("input", 2, 2), [0x4419, 0x2000])
    planned = [modbus.encode_block(b, [7, 3651] if b.register == "holding" else [0x2000, 0x4419])
               for b in CFG.blocks]  # fmt: skip
    (fast,) = modbus.Modbus().decode(b"".join(planned), CFG)
    (slow,) = modbus.Modbus().decode(inputs[:4] + bytes([0x20, 0, 0x44, 0x19]) + holding, CFG)
    assert fast == slow
    assert [(r.metric.value, r.value) for r in fast.readings] == [
        ("body_temperature", 36.51),
        ("co2", 612.5),
    ]
    assert fast.frame_id == slow.frame_id == 7
