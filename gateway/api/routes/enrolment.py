"""Campus IT enrol devices and edge boxes of their schools, and revoke them.

The same registry and CA as `campusedge provision`: an edge box, or a device that speaks
MQTT itself, gets its own broker login and client certificate, in this answer only; a device
behind an enrolled box is added to that box's list (its login stays). The broker's password
and ACL files are rewritten and a running broker reloaded, as the CLI does. Devices heard
but refused as not enrolled (dead letters `unknown_device`) are listed as pending.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from campusedge.topics import ROOT, DeviceKind, TopicError, check_id
from gateway.api.deps import AuditDep, CampusIT, FleetDep, GatewayDep, StoreDep, check_school
from gateway.api.refusals import Refusal
from gateway.fleet.broker_files import ReloadError
from gateway.fleet.ca import CAError, CampusCA
from gateway.fleet.enrolment import UNKNOWN_DEVICE_REASON
from gateway.fleet.provisioning import ClientFiles, client_files, refresh_broker
from gateway.fleet.registry import (
    FleetConflict,
    FleetError,
    FleetRegistry,
    UnknownIdentity,
    box_username,
)
from gateway.i18n import N_
from gateway.store.base import Store

router = APIRouter(prefix="/api/enrolment", tags=["enrolment"])

SUBJECT = "device"
# Dead letters read for the pending list: the newest; older refusals are in the store still.
PENDING_SCAN = 2_000


class BrokerState(StrEnum):
    RELOADED = "reloaded"  # its files rewritten, the running broker reread them
    NOT_RUNNING = "not_running"  # files rewritten; it reads them when it starts
    NO_BROKER_FOLDER = "no_broker_folder"  # `campusedge provision broker` not run yet
    RELOAD_FAILED = "reload_failed"  # files rewritten, the broker could not be told


class BrokerPublic(BaseModel):
    state: BrokerState
    detail: str | None = None


class EnrolmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    school: str = Field(min_length=1, max_length=64)
    device_id: str = Field(min_length=1, max_length=64, description="the id it publishes as")
    kind: DeviceKind = Field(description="`edge` for an edge box")
    box: str | None = Field(
        default=None,
        max_length=64,
        description="the enrolled edge box a device publishes through; none: the device "
        "speaks MQTT itself and gets its own login",
    )
    broker_host: str | None = Field(
        default=None, max_length=253, description="written into the credentials file"
    )
    broker_port: int | None = Field(default=None, ge=1, le=65535)


class CredentialsPublic(BaseModel):
    """The files to put on the box, in this answer only: the secret and the key are kept
    nowhere."""

    username: str
    password: str
    credentials_json: str = Field(description="credentials.json")
    ca_crt: str
    client_crt: str
    client_key: str


class EnrolledPublic(BaseModel):
    school: str
    device_id: str
    kind: DeviceKind
    box: str | None
    credentials: CredentialsPublic | None = Field(
        description="for a box or an MQTT device; none for a device behind a box"
    )
    broker: BrokerPublic


class BoxPublic(BaseModel):
    school: str
    box: str
    username: str
    devices: list[str]
    enrolled_at: datetime | None


class PendingPublic(BaseModel):
    """A device that published but is not enrolled: its messages were refused."""

    school: str
    kind: str
    device_id: str
    last_refused_at: datetime
    refusals: int = Field(description="among the newest dead letters read")


class EnrolmentList(BaseModel):
    boxes: list[BoxPublic]
    pending: list[PendingPublic]


class Revoked(StrEnum):
    BOX = "box"  # the login of a box (or MQTT device): its devices are freed
    DEVICE = "device"  # a device taken off its box's list


class RevokedPublic(BaseModel):
    revoked: Revoked
    broker: BrokerPublic


def get_campus_ca(gateway: GatewayDep) -> Path:
    return gateway.ca_dir


CADir = Annotated[Path, Depends(get_campus_ca)]


def _ca(folder: Path) -> CampusCA:
    try:
        return CampusCA.open(folder)
    except (CAError, OSError) as exc:
        raise Refusal(
            503,
            N_("the campus CA cannot be used ({error}): set CAMPUSEDGE_CA_DIR to its folder"),
            error=str(exc),
        ) from None


def _broker(registry: FleetRegistry) -> BrokerPublic:
    try:
        done = refresh_broker(registry)
    except (ReloadError, OSError) as exc:
        return BrokerPublic(state=BrokerState.RELOAD_FAILED, detail=str(exc))
    if done.folder is None:
        return BrokerPublic(state=BrokerState.NO_BROKER_FOLDER)
    state = BrokerState.RELOADED if done.pid else BrokerState.NOT_RUNNING
    return BrokerPublic(state=state, detail=str(done.folder))


def _id(field: str, value: str) -> str:
    try:
        return check_id(value, field)
    except TopicError:
        raise Refusal(
            422,
            N_(
                "{field}: {value!r} is not a valid id: use 1-64 characters from "
                "A-Z a-z 0-9 _ . : -, starting with a letter or digit"
            ),
            field=field,
            value=value,
        ) from None


def _credentials(files: ClientFiles) -> CredentialsPublic:
    return CredentialsPublic(
        username=files.username,
        password=files.password,
        credentials_json=files.credentials_json(),
        ca_crt=files.ca_pem.decode(),
        client_crt=files.cert_pem.decode(),
        client_key=files.key_pem.decode(),
    )


@router.get("", response_model=EnrolmentList)
def list_enrolment(
    fleet: FleetDep, store: StoreDep, user: CampusIT, school: str | None = None
) -> EnrolmentList:
    """The enrolled boxes with their devices, and the devices refused as not enrolled."""
    check_school(user, school)
    schools = frozenset({school}) if school else user.schools
    boxes = [
        BoxPublic(
            school=i.school or "",
            box=i.box or "",
            username=i.username,
            devices=list(i.devices),
            enrolled_at=datetime.fromisoformat(i.created_at) if i.created_at else None,
        )
        for i in fleet.boxes(schools)
    ]
    return EnrolmentList(boxes=boxes, pending=_pending(fleet, store, schools))


def _pending(fleet: FleetRegistry, store: Store, schools: frozenset[str]) -> list[PendingPublic]:
    enrolled = fleet.enrolled()
    found: dict[tuple[str, str, str], PendingPublic] = {}
    for letter in store.dead_letters(limit=PENDING_SCAN):
        if letter.reason != UNKNOWN_DEVICE_REASON or letter.school not in schools:
            continue
        parts = letter.topic.split("/")
        if len(parts) != 5 or parts[0] != ROOT or parts[1] != letter.school:
            continue
        _, school, kind, device, _ = parts
        # Enrolled since it was refused: no longer waiting.
        if (school, device) in enrolled.devices or (school, device) in enrolled.boxes:
            continue
        key = (school, kind, device)
        seen = found.get(key)
        if seen is None:  # the newest come first
            found[key] = PendingPublic(
                school=school,
                kind=kind,
                device_id=device,
                last_refused_at=letter.received_at,
                refusals=1,
            )
        else:
            seen.refusals += 1
    return sorted(found.values(), key=lambda p: (p.school, p.device_id, p.kind))


@router.post("", status_code=201, response_model=EnrolledPublic)
def enrol(
    body: EnrolmentCreate, fleet: FleetDep, ca_dir: CADir, audit: AuditDep, user: CampusIT
) -> EnrolledPublic:
    """Enrol an edge box (kind `edge`), a device behind an enrolled box (`box`), or a device
    that speaks MQTT itself (no `box`): the last two get a login and certificate, shown once."""
    check_school(user, body.school)
    school = _id("school", body.school)
    device = _id("device_id", body.device_id)
    box = _id("box", body.box) if body.box else None
    if body.kind is DeviceKind.EDGE and box is not None:
        raise Refusal(422, N_("box: an edge box is not behind another box; leave box empty"))
    credentials = None
    try:
        if box is not None:
            if fleet.find(box_username(school, box)) is None:
                raise Refusal(
                    422,
                    N_("box: no enrolled edge box {box!r} in school {school!r}; enrol it first"),
                    box=box,
                    school=school,
                )
            fleet.add_device(school, box, device)
        else:
            if fleet.find(box_username(school, device)) is not None:
                raise Refusal(
                    409,
                    N_(
                        "device_id: {device!r} of school {school!r} is enrolled already; "
                        "revoke it first for new credentials"
                    ),
                    device=device,
                    school=school,
                )
            ca = _ca(ca_dir)  # before enrolling: nothing enrolled without its credentials
            devices = [] if body.kind is DeviceKind.EDGE else [device]
            issued = fleet.enrol_box(school, device, devices)
            files = client_files(issued, ca, body.broker_host, body.broker_port)
            credentials = _credentials(files)
    except FleetConflict as exc:
        raise Refusal(409, N_("device_id: {problem}"), problem=exc) from None
    except FleetError as exc:
        raise Refusal.of(422, exc) from None
    audit.record(
        user,
        "enrol_device",
        SUBJECT,
        f"{school}/{device}",
        f"kind={body.kind.value}" + (f" box={box}" if box else " login"),
    )
    return EnrolledPublic(
        school=school,
        device_id=device,
        kind=body.kind,
        box=box,
        credentials=credentials,
        broker=_broker(fleet),
    )


class CredentialsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    broker_host: str | None = Field(
        default=None, max_length=253, description="written into the credentials file"
    )
    broker_port: int | None = Field(default=None, ge=1, le=65535)


class RotatedPublic(BaseModel):
    school: str
    device_id: str
    credentials: CredentialsPublic
    broker: BrokerPublic


@router.post("/{school}/{device_id}/rotate", response_model=RotatedPublic)
def rotate(
    school: str,
    device_id: str,
    fleet: FleetDep,
    ca_dir: CADir,
    audit: AuditDep,
    user: CampusIT,
    body: CredentialsOptions | None = None,
) -> RotatedPublic:
    """New credentials for an edge box or an MQTT device (lost, or a certificate to renew):
    a new secret and certificate, shown once; the old secret stops working at the broker's
    reload. Its devices stay enrolled."""
    check_school(user, school)
    try:
        username = box_username(school, device_id)
    except TopicError:
        username = None
    if username is None or fleet.find(username) is None:
        raise Refusal(
            status.HTTP_404_NOT_FOUND,
            N_("no enrolled edge box or MQTT device {device!r} in school {school!r}"),
            device=device_id,
            school=school,
        )
    ca = _ca(ca_dir)
    options = body or CredentialsOptions()
    try:
        issued = fleet.rotate(username)
    except UnknownIdentity as exc:  # revoked meanwhile
        raise Refusal.of(status.HTTP_404_NOT_FOUND, exc) from None
    files = client_files(issued, ca, options.broker_host, options.broker_port)
    audit.record(user, "rotate_device", SUBJECT, f"{school}/{device_id}")
    return RotatedPublic(
        school=school,
        device_id=device_id,
        credentials=_credentials(files),
        broker=_broker(fleet),
    )


@router.delete("/{school}/{device_id}", response_model=RevokedPublic)
def revoke(
    school: str, device_id: str, fleet: FleetDep, audit: AuditDep, user: CampusIT
) -> RevokedPublic:
    """Revoke an edge box's (or MQTT device's) login, or take a device off its box's list;
    its messages are refused from then on."""
    check_school(user, school)
    try:
        username = box_username(school, device_id)
    except TopicError:
        username = None  # not an id anything was enrolled under: answered below as unknown
    try:
        if username is not None and fleet.find(username) is not None:
            fleet.revoke(username)
            revoked = Revoked.BOX
        else:
            fleet.remove_device(school, device_id)
            revoked = Revoked.DEVICE
    except UnknownIdentity as exc:
        raise Refusal.of(status.HTTP_404_NOT_FOUND, exc) from None
    audit.record(user, "revoke_device", SUBJECT, f"{school}/{device_id}", f"revoked={revoked}")
    return RevokedPublic(revoked=revoked, broker=_broker(fleet))
