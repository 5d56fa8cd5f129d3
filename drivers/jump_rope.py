"""Smart jump ropes behind a 2.4 GHz base station on USB serial: campusedge rope frame v1.

No vendor publishes its base-station protocol, so this frame format is our own, modelled on
the smart-rope packets that public code shows (realtime status/mode/elapsed/count/battery
packets, multi-field results, time-sync and start/stop commands with free, countdown-time
and countdown-count modes; see docs/devices.md for the sources).

Frame (integers little-endian, CRC big-endian):

| offset | size | field |
|---|---|---|
| 0 | 1 | start byte 0xA5 |
| 1 | 1 | length L of type + payload, 1..64 |
| 2 | 1 | type |
| 3 | L-1 | payload |
| 2+L | 2 | CRC-16/CCITT-FALSE over bytes 1..2+L-1 (length, type, payload) |

Every base-station frame starts its payload with a common header: rope number (u16), the
rope's packet counter (u8, wraps; a repeat is a radio retransmission) and the base station's
uptime in milliseconds (u32; it has no real-time clock, so the edge agent estimates the offset).

Base station → edge:
- 0x10 realtime (16 bytes): header, status u8 (0 idle, 1 running, 2 paused, 3 finished),
  mode u8 (1 free, 2 countdown-time, 3 countdown-count), set value u16 (seconds or jumps of a
  countdown, 0 in free mode), elapsed seconds u16, count u16, battery % u8.
- 0x20 result (23 bytes): header, start time u32 (Unix seconds of the rope's clock, set by
  time sync), mode u8, set value u16, total time s u16, total count u16, average rate u16 and
  maximum rate u16 (jumps per minute), trips u8.
- 0x30 command acknowledgement (9 bytes): header, command type u8, result u8 (0 ok).

Edge → base station (rope number 0xFFFF addresses every rope):
- 0x80 time sync (6 bytes): rope u16, Unix seconds u32.
- 0x81 control (6 bytes): rope u16, mode u8, action u8 (0x11 start, 0x21 pause, 0x22 resume,
  0x33 end), set value u16.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from pydantic import Field

from campusedge.contract import Event, TimeQuality
from campusedge.topics import DeviceKind
from campusedge.units import Metric, Unit
from drivers.base import Decoded, DecodeError, DriverConfig, Framer, need, reading
from drivers.crc import crc16_ccitt

START = 0xA5
MAX_BODY = 64
ALL_ROPES = 0xFFFF
_HEADER = struct.Struct("<HBI")  # rope number, packet counter, base uptime ms
_REALTIME = struct.Struct("<HBIBBHHHB")
_RESULT = struct.Struct("<HBIIBHHHHHB")
_ACK = struct.Struct("<HBIBB")
_TIME_SYNC = struct.Struct("<HI")
_CONTROL = struct.Struct("<HBBH")


class FrameType(IntEnum):
    REALTIME = 0x10
    RESULT = 0x20
    ACK = 0x30
    TIME_SYNC = 0x80
    CONTROL = 0x81


class Mode(IntEnum):
    FREE = 1
    COUNTDOWN_TIME = 2
    COUNTDOWN_COUNT = 3


class Status(IntEnum):
    IDLE = 0
    RUNNING = 1
    PAUSED = 2
    FINISHED = 3


class Action(IntEnum):
    START = 0x11
    PAUSE = 0x21
    RESUME = 0x22
    END = 0x33


class Config(DriverConfig):
    """Base-station settings."""

    baudrate: int = Field(default=115200, gt=0)
    # Idle ropes send a realtime frame every few seconds only to report their battery.
    publish_idle: bool = True


def frame(frame_type: int, payload: bytes) -> bytes:
    """Wrap *payload* in start byte, length and CRC."""
    body = bytes([len(payload) + 1, frame_type]) + payload
    if not 1 <= body[0] <= MAX_BODY:
        raise ValueError(f"payload of {len(payload)} bytes does not fit a rope frame")
    return bytes([START]) + body + struct.pack(">H", crc16_ccitt(body))


@dataclass(frozen=True)
class Realtime:
    rope: int
    packet: int
    base_ms: int
    status: int
    mode: int
    set_value: int
    elapsed_s: int
    count: int
    battery_pct: int

    def encode(self) -> bytes:
        return frame(
            FrameType.REALTIME,
            _REALTIME.pack(
                self.rope,
                self.packet,
                self.base_ms,
                self.status,
                self.mode,
                self.set_value,
                self.elapsed_s,
                self.count,
                self.battery_pct,
            ),
        )


@dataclass(frozen=True)
class Result:
    rope: int
    packet: int
    base_ms: int
    started_unix_s: int
    mode: int
    set_value: int
    total_time_s: int
    total_count: int
    avg_rate: int
    max_rate: int
    trips: int

    def encode(self) -> bytes:
        return frame(
            FrameType.RESULT,
            _RESULT.pack(
                self.rope,
                self.packet,
                self.base_ms,
                self.started_unix_s,
                self.mode,
                self.set_value,
                self.total_time_s,
                self.total_count,
                self.avg_rate,
                self.max_rate,
                self.trips,
            ),
        )


def encode_ack(rope: int, packet: int, base_ms: int, command: int, result: int) -> bytes:
    return frame(FrameType.ACK, _ACK.pack(rope, packet, base_ms, command, result))


def encode_time_sync(unix_s: int, rope: int = ALL_ROPES) -> bytes:
    """Command: set the rope clocks (rope number 0xFFFF = all ropes)."""
    return frame(FrameType.TIME_SYNC, _TIME_SYNC.pack(rope, unix_s))


def encode_control(action: Action, mode: Mode, set_value: int = 0, rope: int = ALL_ROPES) -> bytes:
    """Command: start/pause/resume/end a session in *mode* (set value: seconds or jumps)."""
    if mode == Mode.FREE and set_value:
        raise ValueError("free mode takes no set value")
    return frame(FrameType.CONTROL, _CONTROL.pack(rope, mode, action, set_value))


@dataclass(frozen=True)
class TimeSync:
    rope: int
    unix_s: int


@dataclass(frozen=True)
class Control:
    rope: int
    mode: int
    action: int
    set_value: int


def parse_command(raw: bytes) -> TimeSync | Control:
    """Decode an edge → base station command (what a base station, or its simulator, reads)."""
    ftype, payload = unwrap(raw)
    if ftype == FrameType.TIME_SYNC:
        return TimeSync(*_exact(payload, _TIME_SYNC, "time sync"))
    if ftype == FrameType.CONTROL:
        cmd = Control(*_exact(payload, _CONTROL, "control"))
        _enum_name(Mode, cmd.mode, "mode")
        _enum_name(Action, cmd.action, "action")
        return cmd
    raise DecodeError(f"rope frame: type 0x{ftype:02X} is not a command")


class RopeFramer:
    """Finds frames in a serial byte stream; skips garbage and frames whose CRC fails."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._discarded = 0
        self._corrupted = 0

    @property
    def discarded_bytes(self) -> int:
        return self._discarded

    @property
    def corrupted_frames(self) -> int:
        """Complete frame candidates whose CRC failed (a corrupted frame, or noise that began
        with a start byte and a plausible length)."""
        return self._corrupted

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        buf = self._buf
        while True:
            start = buf.find(START)
            if start < 0:
                self._discarded += len(buf)
                buf.clear()
                break
            if start:
                self._discarded += start
                del buf[:start]
            if len(buf) < 2:
                break
            length = buf[1]
            if not 1 <= length <= MAX_BODY:
                # Not a real start byte: drop it and look for the next one.
                self._discarded += 1
                del buf[:1]
                continue
            total = length + 4
            if len(buf) < total:
                # A start byte in noise with a long length would hold back the real frames
                # behind it until enough bytes arrive. If a complete frame with a good CRC
                # already sits further on, the candidate is noise: skip it now.
                if _complete_frame_after(buf, 1):
                    self._discarded += 1
                    del buf[:1]
                    continue
                break
            body = bytes(buf[1 : 2 + length])
            if struct.unpack_from(">H", buf, 2 + length)[0] != crc16_ccitt(body):
                # A 0xA5 inside garbage, or a corrupted frame: resynchronise one byte later so
                # a real frame that starts inside this window is not swallowed.
                self._corrupted += 1
                self._discarded += 1
                del buf[:1]
                continue
            out.append(bytes(buf[:total]))
            del buf[:total]
        return out


def _complete_frame_after(buf: bytearray, pos: int) -> bool:
    """Whether a whole frame with a valid CRC starts at or after *pos* in *buf*."""
    i = buf.find(START, pos)
    while i >= 0:
        if i + 1 < len(buf):
            length = buf[i + 1]
            end = i + 2 + length
            if (
                1 <= length <= MAX_BODY
                and end + 2 <= len(buf)
                and struct.unpack_from(">H", buf, end)[0] == crc16_ccitt(bytes(buf[i + 1 : end]))
            ):
                return True
        i = buf.find(START, i + 1)
    return False


def unwrap(raw: bytes) -> tuple[int, bytes]:
    """Check start byte, length and CRC of one frame; return (type, payload)."""
    need(raw, 5, "rope frame")
    if raw[0] != START:
        raise DecodeError(f"rope frame: start byte is 0x{raw[0]:02X}, expected 0x{START:02X}")
    length = raw[1]
    if not 1 <= length <= MAX_BODY:
        raise DecodeError(f"rope frame: length byte {length} outside 1..{MAX_BODY}")
    if len(raw) != length + 4:
        raise DecodeError(f"rope frame: {len(raw)} bytes, but the length byte says {length + 4}")
    body = raw[1 : 2 + length]
    crc = struct.unpack_from(">H", raw, 2 + length)[0]
    if crc != crc16_ccitt(body):
        raise DecodeError(f"rope frame: CRC 0x{crc:04X} does not match 0x{crc16_ccitt(body):04X}")
    return raw[2], bytes(raw[3 : 2 + length])


def _exact(payload: bytes, st: struct.Struct, what: str) -> tuple[int, ...]:
    if len(payload) != st.size:
        raise DecodeError(f"rope {what}: payload of {len(payload)} bytes, expected {st.size}")
    return st.unpack(payload)


def _enum_name(enum: type[IntEnum], value: int, what: str) -> str:
    try:
        return enum(value).name.lower()
    except ValueError:
        raise DecodeError(f"rope frame: unknown {what} {value}") from None


def parse(raw: bytes) -> Realtime | Result | tuple[int, int, int, int, int]:
    """Decode one base-station frame into its typed record (an ack is a plain tuple)."""
    ftype, payload = unwrap(raw)
    if ftype == FrameType.REALTIME:
        rt = Realtime(*_exact(payload, _REALTIME, "realtime"))
        _enum_name(Status, rt.status, "status")
        _enum_name(Mode, rt.mode, "mode")
        return rt
    if ftype == FrameType.RESULT:
        res = Result(*_exact(payload, _RESULT, "result"))
        _enum_name(Mode, res.mode, "mode")
        return res
    if ftype == FrameType.ACK:
        rope, packet, base_ms, cmd, result = _exact(payload, _ACK, "ack")
        return rope, packet, base_ms, cmd, result
    raise DecodeError(f"rope frame: type 0x{ftype:02X} is not sent by a base station")


class JumpRope:
    """Driver for the rope base station."""

    name: ClassVar[str] = "jump_rope"
    kind: ClassVar[DeviceKind] = DeviceKind.JUMP_ROPE
    Config: ClassVar[type[DriverConfig]] = Config

    def framer(self, cfg: DriverConfig) -> Framer:
        return RopeFramer()

    def decode(self, frame: bytes, cfg: DriverConfig) -> list[Decoded]:
        assert isinstance(cfg, Config)
        rec = parse(frame)
        if isinstance(rec, Realtime):
            if rec.status == Status.IDLE and not cfg.publish_idle:
                return []
            readings = [reading(Metric.BATTERY, rec.battery_pct, Unit.PERCENT, "battery")]
            if rec.status != Status.IDLE:
                readings[:0] = [
                    reading(Metric.ROPE_COUNT, rec.count, Unit.COUNT, "count"),
                    reading(Metric.ROPE_ELAPSED, rec.elapsed_s, Unit.SECOND, "elapsed time"),
                ]
            return [
                Decoded(
                    source=str(rec.rope),
                    readings=readings,
                    device_time_s=rec.base_ms / 1000.0,
                    time_quality=TimeQuality.ESTIMATED,
                    frame_id=rec.packet,
                )
            ]
        if isinstance(rec, Result):
            event = Event(
                type="rope_result",
                readings=[
                    reading(Metric.ROPE_COUNT, rec.total_count, Unit.COUNT, "total count"),
                    reading(Metric.ROPE_ELAPSED, rec.total_time_s, Unit.SECOND, "total time"),
                ],
                attributes={
                    "mode": Mode(rec.mode).name.lower(),
                    "set_value": rec.set_value,
                    "avg_rate_per_min": rec.avg_rate,
                    "max_rate_per_min": rec.max_rate,
                    "trips": rec.trips,
                    "started_unix_s": rec.started_unix_s,
                },
            )
            return [
                Decoded(
                    source=str(rec.rope),
                    event=event,
                    device_time_s=rec.base_ms / 1000.0,
                    time_quality=TimeQuality.ESTIMATED,
                    frame_id=rec.packet,
                )
            ]
        rope, packet, base_ms, cmd, result = rec
        ack = Event(
            type="rope_command_ack",
            attributes={"command": f"0x{cmd:02X}", "ok": result == 0, "result": result},
        )
        return [
            Decoded(
                source=str(rope),
                event=ack,
                device_time_s=base_ms / 1000.0,
                time_quality=TimeQuality.ESTIMATED,
                frame_id=packet,
            )
        ]
