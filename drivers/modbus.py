"""Modbus devices (RTU and TCP): register maps as data, and the codec of the registers polled.

A Modbus device has no frame of its own to decode: the box asks for registers and gets 16-bit
words back (Modbus Application Protocol v1.1b3, functions 0x03 Read Holding Registers and 0x04
Read Input Registers; register bytes big-endian on the wire). What a register means is the
vendor's register map, which here is data in the device-model file (`points:`), never code.

The poller (edge/transports/modbus.py) reads the blocks `plan()` makes of the map and hands
this codec one frame per poll and unit, the registers it got:

    block*    block := function u8 (3 holding, 4 input) | start u16 | count u8 (1-125)
                       | count registers, 2 bytes each, big-endian as on the wire

Each point of the map names its register type and address, its data type (int16, uint16,
int32, uint32, float32), for the 32-bit types the word order (`big`: the most significant
register first, "AB CD"; `little`: "CD AB") and for every type the byte order within each
register (`big` as the specification says, `little` for devices that swap them, "BA DC"),
then value = raw x scale + offset in the point's unit. The transport's integrity checks (the
RTU CRC-16, TCP's) are done by pymodbus before the codec sees a register, so a frame carries
no checksum of its own.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from campusedge.contract import TimeQuality
from campusedge.topics import DeviceKind
from campusedge.units import (
    CONVERSIONS,
    METRICS,
    Metric,
    MetricSpec,
    Unit,
    UnitError,
    VendorMetric,
    metric_name,
    normalize,
)
from drivers.base import Decoded, DecodeError, DriverConfig, Framer, Reading, WholeFrames

RegisterType = Literal["holding", "input"]
DataType = Literal["int16", "uint16", "int32", "uint32", "float32"]
Order = Literal["big", "little"]

FUNCTION: dict[str, int] = {"holding": 3, "input": 4}
REGISTER_TYPE = {code: name for name, code in FUNCTION.items()}
WIDTH: dict[str, int] = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2}
_STRUCT: dict[str, struct.Struct] = {
    "int16": struct.Struct(">h"),
    "uint16": struct.Struct(">H"),
    "int32": struct.Struct(">i"),
    "uint32": struct.Struct(">I"),
    "float32": struct.Struct(">f"),
}
# One read asks for at most 125 registers (the specification's limit for function 0x03/0x04).
MAX_BLOCK = 125
_BLOCK_HEAD = struct.Struct(">BHB")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Point(_Strict):
    """One value of the register map: where it is, how it is encoded, what it means."""

    metric: str = Field(description="a built-in metric, or a vendor metric `vendor.metric`")
    unit: Unit
    address: int = Field(ge=0, le=65535, description="register address, 0-based as on the wire")
    register_type: RegisterType = "holding"
    type: DataType
    word_order: Order = Field(default="big", description="32-bit types: big = high word first")
    byte_order: Order = Field(default="big", description="within each register")
    scale: float = 1.0
    offset: float = 0.0
    # A vendor metric's plausible range (a built-in metric's is in campusedge/units.py).
    minimum: float | None = None
    maximum: float | None = None

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        metric_name(value)  # MetricNameError (a ValueError) names what is wrong
        return value

    @field_validator("scale", "offset")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        return value

    @model_validator(mode="after")
    def _fits(self) -> Point:
        if self.scale == 0:
            raise ValueError(f"{self.metric}: scale 0 would make every value the offset")
        if self.address + WIDTH[self.type] - 1 > 65535:
            raise ValueError(f"{self.metric}: a {self.type} at {self.address} runs past 65535")
        metric = metric_name(self.metric)
        if isinstance(metric, VendorMetric):
            if self.minimum is None or self.maximum is None or self.minimum > self.maximum:
                raise ValueError(
                    f"{self.metric}: a vendor metric needs its plausible range, "
                    "minimum <= maximum, in the point's unit"
                )
            return self
        if self.minimum is not None or self.maximum is not None:
            raise ValueError(
                f"{self.metric}: a built-in metric's range is fixed "
                "(campusedge/units.py); remove minimum/maximum"
            )
        canonical = METRICS[metric].unit
        if self.unit != canonical and (self.unit, canonical) not in CONVERSIONS:
            raise ValueError(
                f"{self.metric} is measured in {canonical.value}; unit {self.unit.value!r} "
                "does not fit it (nor converts to it)"
            )
        return self

    @property
    def registers(self) -> range:
        return range(self.address, self.address + WIDTH[self.type])


class CounterPoint(_Strict):
    """A register the device steps on each new measurement (a gate's pass counter).

    Its value is the decoded frame's id: the agent drops a poll whose counter has not moved,
    so a gate polled each second publishes each pass once, not once a second.
    """

    address: int = Field(ge=0, le=65535)
    register_type: RegisterType = "holding"
    type: Literal["uint16", "uint32"] = "uint16"
    word_order: Order = "big"
    byte_order: Order = "big"

    @property
    def registers(self) -> range:
        return range(self.address, self.address + WIDTH[self.type])


@dataclass(frozen=True)
class Block:
    """One read request: *count* registers of one type from *start*."""

    register: RegisterType
    start: int
    count: int

    @property
    def function(self) -> int:
        return FUNCTION[self.register]


# Wire bytes of a 32-bit value -> big-endian order, by (word order, byte order); None: as is.
_PERMUTATION: dict[tuple[str, str], tuple[int, ...] | None] = {
    ("big", "big"): None,  # AB CD
    ("little", "big"): (2, 3, 0, 1),  # CD AB
    ("big", "little"): (1, 0, 3, 2),  # BA DC
    ("little", "little"): (3, 2, 1, 0),  # DC BA
}


def _decimals(x: float) -> int:
    exponent = Decimal(repr(x)).as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


@dataclass(frozen=True)
class _Compiled:
    """A point ready to decode, worked out once per config rather than once per poll."""

    point: Point
    function: int
    metric: Metric | VendorMetric
    where: str
    unpack: struct.Struct  # of the value's bytes in big-endian order
    permutation: tuple[int, ...] | None
    # Integers: raw x scale + offset rounded to the decimals of scale and offset, so that
    # 215 x 0.1 is 21.5, not 21.500000000000004. float32: its 7 significant digits first.
    ndigits: int
    scale: Decimal
    offset: Decimal
    spec: MetricSpec  # the range checked, in the metric's canonical unit
    converts: bool  # the point's unit is not the canonical one: normalize() converts it
    offset_in_plan: int  # where the value's bytes are in a frame laid out by plan()
    end_in_plan: int
    is_float: bool


@dataclass(frozen=True)
class _Plan:
    """How a config's register map is read and where its values are in a frame."""

    blocks: tuple[Block, ...]
    heads: tuple[tuple[int, bytes], ...]  # (offset, block header) of a frame laid out by plan()
    frame_size: int
    points: tuple[_Compiled, ...]
    counter_at: int


def _plan_of(cfg: Config) -> _Plan:
    # Read from pydantic's store of private attributes directly: the attribute access goes
    # through BaseModel.__getattr__, which costs more than decoding a register.
    private = cfg.__pydantic_private__
    plan = private["_plan"] if private else None
    assert isinstance(plan, _Plan)
    return plan


class Config(DriverConfig):
    """A Modbus device: its unit, how it is polled, and its register map."""

    # What the device is, for its topic and the gateway's rules: a family, not a protocol.
    kind: Literal[DeviceKind.ENV_SENSOR, DeviceKind.TEMP_GATE] = DeviceKind.ENV_SENSOR
    unit_id: int = Field(default=1, ge=0, le=247, description="Modbus unit (slave) address")
    poll_interval_s: float = Field(default=1.0, gt=0, le=3600)
    timeout_s: float = Field(default=0.5, gt=0, le=30, description="for one request")
    retries: int = Field(default=2, ge=0, le=10, description="a request is sent 1 + retries times")
    # A device that answers none of this many polls in a row is reported offline (and its link
    # opened again); one lost answer on a noisy RS-485 line is only counted.
    offline_after: int = Field(default=3, ge=1, le=100)
    # RTU line settings; Modbus over serial line v1.02 makes even parity the default, but most
    # campus devices ship at 9600 8N1.
    baudrate: int = Field(default=9600, gt=0)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    # Registers between two points read in the same request rather than in two; 0 = only
    # adjacent ones (some devices answer an unmapped address with an exception).
    max_gap: int = Field(default=0, ge=0, le=32)
    counter: CounterPoint | None = None
    points: tuple[Point, ...] = ()

    # Worked out by the validator below (so model_copy with new points would keep the old:
    # validate a changed map instead, as the agent does with a config command).
    _plan: _Plan | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _no_overlap(self) -> Config:
        taken: dict[tuple[str, int], str] = {}
        named: list[tuple[str, RegisterType, range]] = [
            (f"points.{i} ({p.metric})", p.register_type, p.registers)
            for i, p in enumerate(self.points)
        ]
        if self.counter is not None:
            named.append(("counter", self.counter.register_type, self.counter.registers))
        for name, register, span in named:
            for address in span:
                other = taken.get((register, address))
                if other is not None:
                    raise ValueError(
                        f"{name}: {register} register {address} is already read by {other} "
                        "(the register map overlaps)"
                    )
                taken[(register, address)] = name
        blocks = _plan(named, self.max_gap)
        # Where each block's header and each register sit in a frame the poller lays out by
        # this plan: decode() reads values straight from there when the frame has that layout.
        heads, where, pos = [], {}, 0
        for block in blocks:
            heads.append((pos, _BLOCK_HEAD.pack(block.function, block.start, block.count)))
            for i in range(block.count):
                where[(block.function, block.start + i)] = pos + _BLOCK_HEAD.size + 2 * i
            pos += _BLOCK_HEAD.size + 2 * block.count
        c = self.counter
        self._plan = _Plan(
            blocks=blocks,
            heads=tuple(heads),
            frame_size=pos,
            points=tuple(
                _compile(p, where[(FUNCTION[p.register_type], p.address)]) for p in self.points
            ),
            counter_at=where[(FUNCTION[c.register_type], c.address)] if c is not None else -1,
        )
        return self

    @property
    def blocks(self) -> tuple[Block, ...]:
        """The read requests that cover the map, in address order."""
        return _plan_of(self).blocks


def _compile(p: Point, offset_in_plan: int) -> _Compiled:
    metric = metric_name(p.metric)
    if isinstance(metric, VendorMetric):
        assert p.minimum is not None and p.maximum is not None
        spec = MetricSpec(p.unit, p.minimum, p.maximum)
    else:
        spec = METRICS[metric]
    wide = WIDTH[p.type] == 2
    return _Compiled(
        point=p,
        function=FUNCTION[p.register_type],
        metric=metric,
        where=f"point {p.metric} ({p.register_type} {p.address})",
        unpack=_STRUCT[p.type],
        permutation=_PERMUTATION[(p.word_order, p.byte_order)]
        if wide
        else ((1, 0) if p.byte_order == "little" else None),
        ndigits=max(_decimals(p.scale), _decimals(p.offset)),
        scale=Decimal(repr(p.scale)),
        offset=Decimal(repr(p.offset)),
        spec=spec,
        converts=p.unit != spec.unit,
        offset_in_plan=offset_in_plan,
        end_in_plan=offset_in_plan + 2 * WIDTH[p.type],
        is_float=p.type == "float32",
    )


def _plan(named: list[tuple[str, RegisterType, range]], max_gap: int) -> tuple[Block, ...]:
    blocks: list[Block] = []
    for register in ("holding", "input"):
        spans = sorted((r for _, t, r in named if t == register), key=lambda r: r.start)
        start = end = -1
        for span in spans:
            if start >= 0 and span.start - end <= max_gap and span.stop - start <= MAX_BLOCK:
                end = max(end, span.stop)
                continue
            if start >= 0:
                blocks.append(Block(register, start, end - start))
            start, end = span.start, span.stop
        if start >= 0:
            blocks.append(Block(register, start, end - start))
    return tuple(blocks)


def plan(cfg: DriverConfig) -> tuple[Block, ...]:
    """The read requests of *cfg*'s register map."""
    assert isinstance(cfg, Config)
    return cfg.blocks


def encode_block(block: Block, registers: Sequence[int]) -> bytes:
    """One block of a frame (the poller's encoder, and the tests')."""
    if len(registers) != block.count:
        raise ValueError(f"{len(registers)} registers for a block of {block.count}")
    head = _BLOCK_HEAD.pack(block.function, block.start, block.count)
    return head + struct.pack(f">{block.count}H", *registers)


def parse_frame(frame: bytes) -> dict[tuple[int, int], int]:
    """(function, address) -> register of every block in *frame*; DecodeError if malformed."""
    words: dict[tuple[int, int], int] = {}
    pos = 0
    if not frame:
        raise DecodeError("modbus frame: empty, no block of registers")
    while pos < len(frame):
        if len(frame) - pos < _BLOCK_HEAD.size:
            raise DecodeError(f"modbus frame: block header at offset {pos} is truncated")
        function, start, count = _BLOCK_HEAD.unpack_from(frame, pos)
        if function not in REGISTER_TYPE:
            raise DecodeError(f"modbus frame: function {function} at offset {pos} is not 3 or 4")
        if not 1 <= count <= MAX_BLOCK or start + count > 65536:
            raise DecodeError(
                f"modbus frame: block of {count} registers from {start} at offset {pos}"
            )
        pos += _BLOCK_HEAD.size
        size = 2 * count
        if len(frame) - pos < size:
            raise DecodeError(
                f"modbus frame: block at offset {pos - _BLOCK_HEAD.size} is truncated, "
                f"{len(frame) - pos} of {size} register bytes"
            )
        for i, word in enumerate(struct.unpack_from(f">{count}H", frame, pos)):
            words[(function, start + i)] = word
        pos += size
    return words


def raw_value(words: list[int], type_: str, word_order: str, byte_order: str) -> float:
    """The number *words* (registers, first read first) hold as *type_* in the given orders."""
    if word_order == "little":
        words = words[::-1]
    data = b"".join(w.to_bytes(2, "big") for w in words)
    if byte_order == "little":
        data = b"".join(data[i : i + 2][::-1] for i in range(0, len(data), 2))
    value: float = _STRUCT[type_].unpack(data)[0]
    return value


def encode_value(raw: float, type_: str, word_order: str, byte_order: str) -> list[int]:
    """The registers a device holds for the number *raw* (the simulator's encoder)."""
    st = _STRUCT[type_]
    data = st.pack(raw if type_ == "float32" else int(raw))
    if byte_order == "little":
        data = b"".join(data[i : i + 2][::-1] for i in range(0, len(data), 2))
    words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    return words[::-1] if word_order == "little" else words


def raw_for(point: Point, value: float) -> float:
    """The raw register number a device stores for *value* (inverse of scale and offset)."""
    raw = (value - point.offset) / point.scale
    return raw if point.type == "float32" else round(raw)


def _words(words: dict[tuple[int, int], int], function: int, span: range, what: str) -> list[int]:
    try:
        return [words[(function, a)] for a in span]
    except KeyError as exc:
        raise DecodeError(
            f"modbus frame: {what} needs {REGISTER_TYPE[function]} register {exc.args[0][1]}, "
            "which the frame does not hold"
        ) from None


def _reading(c: _Compiled, frame: bytes, words: dict[tuple[int, int], int] | None) -> Reading:
    """The reading of one point: its bytes from the frame's planned layout, else by address."""
    p = c.point
    if words is None:
        data = frame[c.offset_in_plan : c.end_in_plan]
    else:
        found = _words(words, c.function, p.registers, c.where)
        data = b"".join(w.to_bytes(2, "big") for w in found)
    if c.permutation is not None:
        data = bytes([data[i] for i in c.permutation])
    raw = c.unpack.unpack(data)[0]
    if c.is_float:
        if not math.isfinite(raw):
            raise DecodeError(f"{c.where}: float32 {raw} is not a measurement")
        # A float32 holds about 7 significant digits; more would be noise of the conversion.
        value = float(f"{raw:.7g}")
        if c.scale != 1 or c.offset != 0:
            value = float(Decimal(f"{raw:.7g}") * c.scale + c.offset)
    else:
        value = round(raw * p.scale + p.offset, c.ndigits)
    spec = c.spec
    if c.converts or not spec.minimum <= value <= spec.maximum:
        try:
            normalize(c.metric, value, p.unit, spec)
        except UnitError as exc:
            raise DecodeError(f"{c.where}: {exc}") from None
    return Reading(metric=c.metric, value=value, unit=p.unit)


class Modbus:
    """Driver for Modbus RTU and TCP devices whose register map is in their device model."""

    name: ClassVar[str] = "modbus"
    # The class's kind is the default; each device model says which family it is (`kind`).
    kind: ClassVar[DeviceKind] = DeviceKind.ENV_SENSOR
    kinds: ClassVar[frozenset[DeviceKind]] = frozenset(
        {DeviceKind.ENV_SENSOR, DeviceKind.TEMP_GATE}
    )
    Config: ClassVar[type[DriverConfig]] = Config

    def framer(self, cfg: DriverConfig) -> Framer:
        return WholeFrames()  # the poller hands over one whole frame per poll

    def decode(self, frame: bytes, cfg: DriverConfig) -> list[Decoded]:
        assert isinstance(cfg, Config)
        plan = _plan_of(cfg)
        if not plan.points:
            raise DecodeError("modbus frame: the register map has no points to read")
        words: dict[tuple[int, int], int] | None = None
        if len(frame) != plan.frame_size:
            words = parse_frame(frame)  # not the planned layout: find registers by address
        else:
            for pos, head in plan.heads:
                if frame[pos : pos + _BLOCK_HEAD.size] != head:
                    words = parse_frame(frame)
                    break
        frame_id = None
        if cfg.counter is not None:
            c = cfg.counter
            if words is None:
                at = plan.counter_at
                counter = list(struct.unpack_from(f">{WIDTH[c.type]}H", frame, at))
            else:
                counter = _words(words, FUNCTION[c.register_type], c.registers, "the counter")
            frame_id = int(raw_value(counter, c.type, c.word_order, c.byte_order))
        readings = [_reading(c, frame, words) for c in plan.points]
        return [Decoded(readings=readings, time_quality=TimeQuality.RECEIVED, frame_id=frame_id)]
