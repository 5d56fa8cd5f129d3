"""The fleet for campus IT: status, battery, firmware, model versions, last seen."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from gateway.api.deps import CampusIT, GatewayDep

router = APIRouter(prefix="/api/devices", tags=["devices"])


class DevicePublic(BaseModel):
    device_id: str
    school: str
    kind: str
    state: str
    firmware: str | None
    battery_pct: float | None
    model_versions: dict[str, str]
    config_version: str | None
    detail: str | None
    status_at: datetime | None
    last_seen: datetime | None
    messages: int
    # Offline because its box was stopped cleanly (a restart, maintenance), not a fault.
    stopped: bool


@router.get("", response_model=list[DevicePublic])
def list_devices(gateway: GatewayDep, user: CampusIT,
                 school: str | None = None) -> list[DevicePublic]:
    return [DevicePublic(**vars(d)) for d in gateway.devices.all(school)]


@router.get("/{device_id}", response_model=DevicePublic)
def get_device(device_id: str, gateway: GatewayDep, user: CampusIT) -> DevicePublic:
    record = gateway.devices.get(device_id)
    if record is None:
        raise HTTPException(404, f"no device {device_id!r} has been seen")
    return DevicePublic(**vars(record))
