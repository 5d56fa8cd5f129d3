"""Infrared temperature gates at the entrance: campusedge gate line protocol v1.

Our own documented protocol (no vendor publishes one), one ASCII line per pass, the same over
a serial port or a TCP connection. Fields are comma-separated; the checksum is the XOR of
every byte between `$` and `*`, as two upper-case hex digits (the NMEA 0183 rule):

    $TG,<seq>,<time>,<subject>,<site>,<temp>,<ambient>,<decision>*<XX>\\r\\n

| field | format | meaning |
|---|---|---|
| seq | 1-10 digits | the gate's event counter (a repeat is a retransmission) |
| time | ISO 8601 UTC, e.g. 2026-09-01T07:30:12.250Z | the gate's real-time clock |
| subject | `C-`/`F-` + 8-32 hex digits | pseudonymous card (C) or face (F) id, no name |
| site | `F` forehead, `W` wrist | where the infrared reading was taken |
| temp | degrees Celsius, 1-2 decimals | skin temperature after the gate's compensation |
| ambient | degrees Celsius, 1-2 decimals | air temperature at the gate |
| decision | `P` pass, `D` deny | what the gate did (deny = flagged for recheck) |

Infrared forehead and wrist readings are a screen that staff confirm with a contact
thermometer; the gateway's alert rules decide what counts as fever, not the gate.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import ClassVar

from pydantic import Field

from campusedge.contract import Event, TimeQuality
from campusedge.topics import DeviceKind
from campusedge.units import Metric, Unit
from drivers.base import Decoded, DecodeError, DriverConfig, Framer, reading
from drivers.lines import LineFramer, ascii_fields

MAX_LINE = 160
# The subject a gate can send: a card or face id (simulators pick these too).
SUBJECT = re.compile(r"^([CF])-([0-9A-F]{8,32})$")
_TEMP = re.compile(r"^-?\d{1,2}\.\d{1,2}$")
_SEQ = re.compile(r"^\d{1,10}$")
SITES = {"F": "forehead", "W": "wrist"}
DECISIONS = {"P": "pass", "D": "deny"}
ID_TYPES = {"C": "card", "F": "face"}


class Config(DriverConfig):
    """Gate settings."""

    baudrate: int = Field(default=9600, gt=0)
    # Set when the gate keeps its clock by NTP; otherwise its time is trusted less.
    clock_synced: bool = False
    # Site calibration against a contact thermometer, a declarative offset per site.
    forehead_offset_c: float = Field(default=0.0, ge=-3, le=3)
    wrist_offset_c: float = Field(default=0.0, ge=-3, le=3)


def checksum(body: str) -> str:
    """XOR of the characters between `$` and `*`, as two hex digits."""
    x = 0
    for ch in body.encode("ascii"):
        x ^= ch
    return f"{x:02X}"


def encode(
    seq: int,
    time: datetime,
    subject: str,
    site: str,
    temp_c: float,
    ambient_c: float,
    decision: str,
) -> bytes:
    """One gate line (used by the simulator and the round-trip tests)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.") + f"{time.microsecond // 1000:03d}Z"
    body = f"TG,{seq},{stamp},{subject},{site},{temp_c:.1f},{ambient_c:.1f},{decision}"
    return f"${body}*{checksum(body)}\r\n".encode("ascii")


def _temp(text: str, what: str) -> float:
    if not _TEMP.fullmatch(text):
        raise DecodeError(f"gate line: {what} {text!r} is not a temperature like 36.6")
    return float(text)


class TempGate:
    """Driver for infrared temperature gates."""

    name: ClassVar[str] = "temp_gate"
    kind: ClassVar[DeviceKind] = DeviceKind.TEMP_GATE
    Config: ClassVar[type[DriverConfig]] = Config

    def framer(self, cfg: DriverConfig) -> Framer:
        return LineFramer(b"$", MAX_LINE)

    def decode(self, frame: bytes, cfg: DriverConfig) -> list[Decoded]:
        assert isinstance(cfg, Config)
        text = ascii_fields(frame.rstrip(b"\r\n"), "gate line")
        if not text.startswith("$") or "*" not in text:
            raise DecodeError("gate line: expected $…*XX")
        body, _, given = text[1:].rpartition("*")
        if given != checksum(body):
            raise DecodeError(f"gate line: checksum {given!r} does not match {checksum(body)!r}")
        fields = body.split(",")
        if fields[0] != "TG":
            raise DecodeError(f"gate line: unknown sentence {fields[0]!r}")
        if len(fields) != 8:
            raise DecodeError(f"gate line: {len(fields)} fields, expected 8")
        _, seq, stamp, subject, site, temp, ambient, decision = fields
        if not _SEQ.fullmatch(seq):
            raise DecodeError(f"gate line: sequence {seq!r} is not a number")
        try:
            when = datetime.fromisoformat(stamp)
        except ValueError:
            raise DecodeError(f"gate line: time {stamp!r} is not ISO 8601") from None
        if when.tzinfo is None:
            raise DecodeError(f"gate line: time {stamp!r} has no UTC offset")
        m = SUBJECT.fullmatch(subject)
        if m is None:
            raise DecodeError(f"gate line: subject {subject!r} is not C-/F- and 8-32 hex digits")
        if site not in SITES:
            raise DecodeError(f"gate line: site {site!r} is not F or W")
        if decision not in DECISIONS:
            raise DecodeError(f"gate line: decision {decision!r} is not P or D")
        offset = cfg.forehead_offset_c if site == "F" else cfg.wrist_offset_c
        body_c = round(_temp(temp, "temperature") + offset, 2)
        event = Event(
            type="gate_pass",
            readings=[
                reading(Metric.BODY_TEMPERATURE, body_c, Unit.CELSIUS, "temperature"),
                reading(
                    Metric.AMBIENT_TEMPERATURE,
                    _temp(ambient, "ambient"),
                    Unit.CELSIUS,
                    "ambient temperature",
                ),
            ],
            attributes={
                "subject_id": subject,
                "id_type": ID_TYPES[m.group(1)],
                "site": SITES[site],
                "decision": DECISIONS[decision],
                "gate_seq": int(seq),
            },
        )
        quality = TimeQuality.SYNCED if cfg.clock_synced else TimeQuality.UNSYNCED
        return [
            Decoded(
                event=event, device_time_s=when.timestamp(), time_quality=quality, frame_id=int(seq)
            )
        ]
