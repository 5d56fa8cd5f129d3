"""ACME R2 rope base station frames: bytes to readings (a pure codec, as campusedge's own).

Frame, as the vendor's serial protocol sheet gives it (integers big-endian):

| offset | size | field |
|---|---|---|
| 0 | 2 | sync 0xAA 0x55 |
| 2 | 1 | length L of type + payload, 1..32 |
| 3 | 1 | type |
| 4 | L-1 | payload |
| 3+L | 1 | checksum: sum of bytes 2..2+L (length, type, payload) modulo 256 |

Types (every payload starts with the rope number u8 and the rope's frame counter u8, which
repeats on a radio retransmission):

- 0x01 live (8 bytes): rope, counter, count u16, jump rate u16 (jumps per minute over the
  last 10 s), trips u8, battery % u8;
- 0x02 result (9 bytes): rope, counter, count u16, duration s u16, maximum rate u16, trips u8.

The base station has no clock: the edge agent stamps the time a frame arrived.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from pydantic import Field

from campusedge.contract import Event, TimeQuality
from campusedge.topics import DeviceKind
from campusedge.units import Metric, Unit, VendorMetric
from drivers.base import Decoded, DecodeError, DriverConfig, Framer, need, reading
from drivers.plugin import VendorMetricSpec

SYNC = b"\xaa\x55"
MAX_LENGTH = 32
LIVE = 0x01
RESULT = 0x02
_LIVE = struct.Struct(">BBHHBB")
_RESULT = struct.Struct(">BBHHHB")

# The vendor's own metrics: named `acme.…`, in units of campusedge's fixed set.
JUMP_RATE = VendorMetricSpec(
    VendorMetric("acme.jump_rate"), Unit.PER_MINUTE, 0, 400, "jumps per minute over 10 s"
)
TRIPS = VendorMetricSpec(VendorMetric("acme.trips"), Unit.COUNT, 0, 255, "trips this session")


class Config(DriverConfig):
    """How to read an ACME R2 base station."""

    baudrate: int = Field(default=57600, gt=0)
    emit_rate: bool = Field(default=True, description="publish acme.jump_rate with each count")


def checksum(body: bytes) -> int:
    return sum(body) & 0xFF


def frame(kind: int, payload: bytes) -> bytes:
    """A whole frame of *kind* around *payload* (the simulator's and the tests' encoder)."""
    body = bytes([len(payload) + 1, kind]) + payload
    return SYNC + body + bytes([checksum(body)])


def encode_live(rope: int, counter: int, count: int, rate: int, trips: int, battery: int) -> bytes:
    return frame(LIVE, _LIVE.pack(rope, counter, count, rate, trips, battery))


def encode_result(
    rope: int, counter: int, count: int, duration_s: int, max_rate: int, trips: int
) -> bytes:
    return frame(RESULT, _RESULT.pack(rope, counter, count, duration_s, max_rate, trips))


class AcmeFramer:
    """Finds frames after the sync word; skips garbage and frames whose checksum fails."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._discarded = 0
        self._corrupted = 0

    @property
    def discarded_bytes(self) -> int:
        return self._discarded

    @property
    def corrupted_frames(self) -> int:
        return self._corrupted

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        buf += data
        out: list[bytes] = []
        while True:
            start = buf.find(SYNC)
            if start < 0:
                keep = 1 if buf[-1:] == SYNC[:1] else 0  # half a sync word may end the chunk
                self._discarded += len(buf) - keep
                del buf[: len(buf) - keep]
                return out
            self._discarded += start
            del buf[:start]
            if len(buf) < 3:
                return out
            length = buf[2]
            if not 1 <= length <= MAX_LENGTH:
                self._discarded += 2
                del buf[:2]
                continue
            total = length + 4
            if len(buf) < total:
                return out
            if buf[total - 1] != checksum(bytes(buf[2 : 3 + length])):
                # Garbage that looked like a sync word, or a corrupted frame: look again
                # one byte on, so a real frame inside the window is not lost.
                self._corrupted += 1
                self._discarded += 1
                del buf[:1]
                continue
            out.append(bytes(buf[:total]))
            del buf[:total]


def _body(data: bytes) -> tuple[int, bytes]:
    """The type and payload of one whole frame; DecodeError for anything else."""
    need(data, 5, "acme frame")
    if data[:2] != SYNC:
        raise DecodeError(f"acme frame: starts with {data[:2].hex()}, not the sync word aa55")
    length = data[2]
    if not 1 <= length <= MAX_LENGTH:
        raise DecodeError(f"acme frame: length {length} is outside 1..{MAX_LENGTH}")
    need(data, length + 4, "acme frame")
    if len(data) != length + 4:
        raise DecodeError(f"acme frame: {len(data) - length - 4} bytes after the checksum")
    if data[-1] != checksum(data[2:-1]):
        raise DecodeError(
            f"acme frame: checksum {data[-1]:#04x} does not match {checksum(data[2:-1]):#04x}"
        )
    return data[3], data[4:-1]


class AcmeRope:
    """Driver for the ACME R2 base station: a jump_rope device by the contract."""

    name: ClassVar[str] = "acme_rope"
    kind: ClassVar[DeviceKind] = DeviceKind.JUMP_ROPE
    Config: ClassVar[type[DriverConfig]] = Config

    def framer(self, cfg: DriverConfig) -> Framer:
        return AcmeFramer()

    def decode(self, frame: bytes, cfg: DriverConfig) -> list[Decoded]:
        assert isinstance(cfg, Config)
        kind, payload = _body(frame)
        if kind == LIVE:
            if len(payload) != _LIVE.size:
                raise DecodeError(f"acme live frame: payload of {len(payload)} bytes, not 8")
            rope, counter, count, rate, trips, battery = _LIVE.unpack(payload)
            readings = [reading(Metric.ROPE_COUNT, count, Unit.COUNT, "acme live count")]
            if cfg.emit_rate:
                readings.append(JUMP_RATE.reading(rate, "acme live rate"))
            readings.append(TRIPS.reading(trips, "acme live trips"))
            readings.append(reading(Metric.BATTERY, battery, Unit.PERCENT, "acme battery"))
            return [
                Decoded(
                    source=str(rope),
                    readings=readings,
                    time_quality=TimeQuality.RECEIVED,
                    frame_id=counter,
                )
            ]
        if kind == RESULT:
            if len(payload) != _RESULT.size:
                raise DecodeError(f"acme result frame: payload of {len(payload)} bytes, not 9")
            rope, counter, count, duration_s, max_rate, trips = _RESULT.unpack(payload)
            event = Event(
                type="rope_result",
                readings=[
                    reading(Metric.ROPE_COUNT, count, Unit.COUNT, "acme result count"),
                    reading(Metric.ROPE_ELAPSED, duration_s, Unit.SECOND, "acme result time"),
                ],
                attributes={"mode": "free", "max_rate_per_min": max_rate, "trips": trips},
            )
            return [
                Decoded(
                    source=str(rope),
                    event=event,
                    time_quality=TimeQuality.RECEIVED,
                    frame_id=counter,
                )
            ]
        raise DecodeError(f"acme frame: unknown type {kind:#04x}")


@dataclass(frozen=True)
class Live:
    """The fields of a live frame (for the simulator)."""

    rope: int
    counter: int
    count: int
    rate: int
    trips: int
    battery: int

    def encode(self) -> bytes:
        return encode_live(self.rope, self.counter, self.count, self.rate, self.trips, self.battery)
