"""Heart-rate wristbands: the Bluetooth Heart Rate Measurement characteristic (0x2A37).

Each BLE notification of characteristic 0x2A37 (Heart Rate Service 0x180D) is one frame.
Layout, from the Bluetooth SIG characteristic definition
(org.bluetooth.characteristic.heart_rate_measurement), all integers little-endian:

- byte 0, flags: bit 0 = heart rate is uint16 (else uint8); bits 1-2 = sensor contact
  status (0 or 1 not supported, 2 supported but not detected, 3 supported and detected);
  bit 3 = energy expended present; bit 4 = RR intervals present; bits 5-7 reserved;
- heart rate in beats per minute, uint8 or uint16;
- energy expended, uint16 kJ since the last reset (only with flag bit 3);
- RR intervals, n × uint16 in units of 1/1024 s, oldest first; n follows from the remaining
  length (only with flag bit 4).

The band has no clock: the edge agent stamps the time it received the notification.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import ClassVar

from pydantic import Field

from campusedge.contract import TimeQuality
from campusedge.topics import DeviceKind
from campusedge.units import Metric, Unit
from drivers.base import (
    Decoded,
    DecodeError,
    DriverConfig,
    Framer,
    Reading,
    WholeFrames,
    need,
    reading,
)

FLAG_HR_UINT16 = 0x01
FLAG_CONTACT_SUPPORTED = 0x04
FLAG_CONTACT_DETECTED = 0x02
FLAG_ENERGY = 0x08
FLAG_RR = 0x10
RR_UNITS_PER_SECOND = 1024


class Config(DriverConfig):
    """How to turn a band's notifications into readings."""

    emit_rr_intervals: bool = Field(default=True, description="publish each RR interval")
    # A band that supports contact detection but reports no contact measures nothing useful;
    # many bands still send a stale or zero heart rate then.
    drop_without_contact: bool = True
    max_rr_per_frame: int = Field(
        default=9, ge=0, le=9, description="a 20-byte notification holds at most 9 RR values"
    )


@dataclass(frozen=True)
class Measurement:
    """The fields of one Heart Rate Measurement notification."""

    heart_rate: int
    contact_supported: bool = False
    contact_detected: bool = False
    energy_kj: int | None = None
    rr_1024: list[int] = field(default_factory=list)
    hr_uint16: bool = False


def parse(frame: bytes) -> Measurement:
    """Parse one notification; DecodeError when truncated or of an impossible length."""
    need(frame, 2, "heart rate measurement")
    flags = frame[0]
    hr16 = bool(flags & FLAG_HR_UINT16)
    pos = 1
    if hr16:
        need(frame, 3, "heart rate measurement (uint16 heart rate)")
        hr = struct.unpack_from("<H", frame, 1)[0]
        pos = 3
    else:
        hr = frame[1]
        pos = 2
    energy: int | None = None
    if flags & FLAG_ENERGY:
        need(frame, pos + 2, "heart rate measurement (energy expended)")
        energy = struct.unpack_from("<H", frame, pos)[0]
        pos += 2
    rr: list[int] = []
    rest = len(frame) - pos
    if flags & FLAG_RR:
        if rest == 0 or rest % 2:
            raise DecodeError(
                f"heart rate measurement: RR-interval field of {rest} bytes at "
                f"offset {pos} is not a whole number of uint16 values"
            )
        rr = list(struct.unpack_from(f"<{rest // 2}H", frame, pos))
    elif rest:
        raise DecodeError(
            f"heart rate measurement: {rest} trailing bytes at offset {pos} "
            "with no RR-interval flag"
        )
    return Measurement(
        heart_rate=hr,
        contact_supported=bool(flags & FLAG_CONTACT_SUPPORTED),
        contact_detected=bool(flags & FLAG_CONTACT_DETECTED),
        energy_kj=energy,
        rr_1024=rr,
        hr_uint16=hr16,
    )


def encode(m: Measurement) -> bytes:
    """The notification bytes a band sends for *m* (used by the simulator and round-trip tests)."""
    flags = 0
    if m.hr_uint16 or m.heart_rate > 0xFF:
        flags |= FLAG_HR_UINT16
    if m.contact_supported:
        flags |= FLAG_CONTACT_SUPPORTED | (FLAG_CONTACT_DETECTED if m.contact_detected else 0)
    if m.energy_kj is not None:
        flags |= FLAG_ENERGY
    if m.rr_1024:
        flags |= FLAG_RR
    out = bytearray([flags])
    out += struct.pack("<H", m.heart_rate) if flags & FLAG_HR_UINT16 else bytes([m.heart_rate])
    if m.energy_kj is not None:
        out += struct.pack("<H", m.energy_kj)
    for rr in m.rr_1024:
        out += struct.pack("<H", rr)
    return bytes(out)


class HrBand:
    """Driver for BLE heart-rate bands."""

    name: ClassVar[str] = "hr_band"
    kind: ClassVar[DeviceKind] = DeviceKind.HR_BAND
    Config: ClassVar[type[DriverConfig]] = Config

    def framer(self, cfg: DriverConfig) -> Framer:
        return WholeFrames()

    def decode(self, frame: bytes, cfg: DriverConfig) -> list[Decoded]:
        assert isinstance(cfg, Config)
        m = parse(frame)
        if m.contact_supported and not m.contact_detected and cfg.drop_without_contact:
            return [
                Decoded(
                    readings=[reading(Metric.SKIN_CONTACT, 0, Unit.BOOL, "contact")],
                    time_quality=TimeQuality.RECEIVED,
                )
            ]
        readings: list[Reading] = [
            reading(Metric.HEART_RATE, m.heart_rate, Unit.BPM, "heart rate"),
        ]
        if m.contact_supported:
            readings.append(
                reading(Metric.SKIN_CONTACT, int(m.contact_detected), Unit.BOOL, "contact")
            )
        if m.energy_kj is not None:
            readings.append(
                reading(Metric.ENERGY_EXPENDED, m.energy_kj, Unit.KILOJOULE, "energy expended")
            )
        if cfg.emit_rr_intervals:
            for i, rr in enumerate(m.rr_1024[: cfg.max_rr_per_frame]):
                readings.append(
                    reading(
                        Metric.RR_INTERVAL,
                        round(rr / RR_UNITS_PER_SECOND, 6),
                        Unit.SECOND,
                        f"RR interval {i}",
                    )
                )
        return [Decoded(readings=readings, time_quality=TimeQuality.RECEIVED)]
