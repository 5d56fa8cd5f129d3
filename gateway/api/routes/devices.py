"""The fleet for campus IT: status, battery, firmware, model versions, last seen."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from gateway.api.deps import CampusIT, DevicesDep, check_school
from gateway.api.refusals import Refusal
from gateway.devices import DeviceRecord
from gateway.i18n import N_

router = APIRouter(prefix="/api/devices", tags=["devices"])


class DevicePublic(BaseModel):
    device_id: str
    school: str
    kind: str
    state: str = Field(
        description="online, offline, or unknown: said online, but the edge box "
        "it is reached through has gone offline since (its last will), so "
        "nothing can tell any more"
    )
    reported_state: str = Field(description="the state of the device's own last status")
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
    edge_id: str | None = Field(description="the edge box the device is reached through")
    edge_state: str | None = Field(description="that box's last recorded state")


# Edge boxes by (school, box id); under school None a box found in another school.
Boxes = dict[tuple[str | None, str], DeviceRecord]


def _public(device: DeviceRecord, boxes: Boxes) -> DevicePublic:
    box = None
    if device.edge_id:
        box = boxes.get((device.school, device.edge_id)) or boxes.get((None, device.edge_id))
    edge_state = box.state if box is not None else None
    # A box's last will covers the box alone: the retained "online" of the devices behind it
    # stays as it was, though no one can vouch for them any longer.
    state = "unknown" if device.state == "online" and edge_state == "offline" else device.state
    fields = vars(device) | {
        "state": state,
        "reported_state": device.state,
        "edge_state": edge_state,
    }
    return DevicePublic(**fields)


@router.get("", response_model=list[DevicePublic])
def list_devices(
    registry: DevicesDep, user: CampusIT, school: str | None = None
) -> list[DevicePublic]:
    check_school(user, school)
    devices = [d for d in registry.all(school) if d.school in user.schools]
    boxes: Boxes = {(d.school, d.device_id): d for d in devices if d.kind == "edge"}
    missing = {d.edge_id for d in devices if d.edge_id and (d.school, d.edge_id) not in boxes}
    for edge_id in missing:  # a box filed under another school (or none heard yet)
        box = registry.get(edge_id)
        if box is not None:
            boxes[(None, edge_id)] = box
    return [_public(d, boxes) for d in devices]


@router.get("/{device_id}", response_model=DevicePublic)
def get_device(
    device_id: str, devices: DevicesDep, user: CampusIT, school: str | None = None
) -> DevicePublic:
    """A device by id; `?school=` picks one when schools share the id (each school names its
    own devices)."""
    check_school(user, school)
    # Another school's device is answered as one never seen.
    found = [d for d in devices.find(device_id, school) if d.school in user.schools]
    if not found:
        raise Refusal(
            404,
            N_("no device {device_id!r} has been seen in school {school!r}")
            if school
            else N_("no device {device_id!r} has been seen"),
            device_id=device_id,
            school=school,
        )
    if len(found) > 1:
        schools = ", ".join(d.school for d in found)
        raise Refusal(
            409,
            N_("device id {device_id!r} is used in schools {schools}: add ?school=SCHOOL"),
            device_id=device_id,
            schools=schools,
        )
    record = found[0]
    box = None
    if record.edge_id:
        box = devices.get(record.edge_id, record.school) or devices.get(record.edge_id)
    return _public(record, {(None, box.device_id): box} if box is not None else {})
