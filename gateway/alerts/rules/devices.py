"""Device faults: offline (last will, or silence in school hours), battery low, clock drift."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from campusedge.contract import DeviceState, Status
from campusedge.topics import DeviceKind
from gateway.alerts.config import DeviceConfig, SchoolAlertConfig
from gateway.alerts.model import Candidate, Rule, Severity
from gateway.alerts.rules import reading
from gateway.devices import DeviceRecord
from gateway.store.base import StoredMessage


@dataclass(frozen=True)
class Clear:
    """A condition that ended: resolve the active alert with this key on the system's behalf."""

    key: str
    outcome: str


def offline_key(device_id: str) -> str:
    return f"{Rule.DEVICE_OFFLINE.value}:{device_id}"


def battery_key(device_id: str) -> str:
    return f"{Rule.BATTERY_LOW.value}:{device_id}"


def clock_key(device_id: str) -> str:
    return f"{Rule.CLOCK_DRIFT.value}:{device_id}"


def _battery(
    school: str, device_id: str, pct: float, at: datetime, cfg: DeviceConfig
) -> Candidate | Clear:
    if pct < cfg.battery_low_pct:
        return Candidate(
            rule=Rule.BATTERY_LOW,
            key=battery_key(device_id),
            school=school,
            severity=Severity.INFO,
            at=at,
            device_id=device_id,
            summary=f"battery of {device_id} at {pct:.0f} % (below {cfg.battery_low_pct:.0f} %)",
            detail={"battery_pct": pct},
        )
    return Clear(battery_key(device_id), "battery_ok")


def on_status(
    school: str, status: Status, at: datetime, cfg: DeviceConfig
) -> list[Candidate | Clear]:
    out: list[Candidate | Clear] = []
    if status.state is DeviceState.OFFLINE and status.stopped:
        pass  # a clean stop of its box: shown offline in the fleet, not a fault to page about
    elif status.state is DeviceState.OFFLINE:
        # An edge box's offline status that is not a clean stop is its last will (the broker
        # publishes it when the box's connection dies); a device's comes from its box, which
        # lost the link to it and says why in the detail.
        lost = status.kind is DeviceKind.EDGE
        why = "connection lost (last will)" if lost else (status.detail or "link lost")
        out.append(
            Candidate(
                rule=Rule.DEVICE_OFFLINE,
                key=offline_key(status.device_id),
                school=school,
                severity=Severity.WARNING,
                at=at,
                device_id=status.device_id,
                summary=f"{status.kind.value} {status.device_id} went offline: {why}"[:200],
                detail={
                    "reason": "last_will" if lost else "device_fault",
                    "kind": status.kind.value,
                    "detail": status.detail,
                },
            )
        )
    else:
        out.append(Clear(offline_key(status.device_id), "back_online"))
    if status.battery_pct is not None:
        out.append(_battery(school, status.device_id, float(status.battery_pct), at, cfg))
    if status.clock_offset_s is not None:
        # What an edge box measured of a device's real-time clock against its own.
        out.append(_clock(school, status.device_id, float(status.clock_offset_s), at, cfg))
    return out


# The readings `on_message` looks at.
DEVICE_METRICS = frozenset({"battery", "clock_offset"})


def on_message(msg: StoredMessage, cfg: DeviceConfig) -> list[Candidate | Clear]:
    out: list[Candidate | Clear] = []
    battery = reading(msg, "battery")
    if battery is not None:
        out.append(_battery(msg.school, msg.device_id, battery, msg.received_at, cfg))
    offset = reading(msg, "clock_offset")
    if offset is not None:
        out.append(_clock(msg.school, msg.device_id, offset, msg.received_at, cfg))
    return out


def _clock(
    school: str, device_id: str, offset: float, at: datetime, cfg: DeviceConfig
) -> Candidate | Clear:
    if abs(offset) > cfg.clock_drift_s:
        return Candidate(
            rule=Rule.CLOCK_DRIFT,
            key=clock_key(device_id),
            school=school,
            severity=Severity.INFO,
            at=at,
            device_id=device_id,
            summary=f"clock of {device_id} is off by {offset:+.1f} s",
            detail={"clock_offset_s": offset},
        )
    return Clear(clock_key(device_id), "clock_ok")


def in_school_hours(now: datetime, cfg: SchoolAlertConfig) -> bool:
    local = now.astimezone(cfg.zone)
    d = cfg.devices
    return local.isoweekday() in d.school_days and d.school_start <= local.time() < d.school_end


def silent(device: DeviceRecord, now: datetime, cfg: SchoolAlertConfig) -> Candidate | None:
    """Offline by silence: no message for longer than the kind allows, during school hours."""
    minutes = cfg.devices.silence_minutes.get(device.kind)
    if minutes is None or device.state == DeviceState.OFFLINE.value:
        return None
    if not in_school_hours(now, cfg):
        return None
    heard = max((t for t in (device.last_seen, device.status_at) if t is not None), default=None)
    if heard is None or now - heard <= timedelta(minutes=minutes):
        return None
    quiet = (now - heard).total_seconds() / 60
    return Candidate(
        rule=Rule.DEVICE_OFFLINE,
        key=offline_key(device.device_id),
        school=device.school,
        severity=Severity.WARNING,
        at=now,
        device_id=device.device_id,
        summary=f"{device.kind} {device.device_id} silent for {quiet:.0f} min in school hours",
        detail={"reason": "silence", "kind": device.kind, "silent_minutes": round(quiet, 1)},
    )
