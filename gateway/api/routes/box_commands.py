"""Campus IT manage edge boxes: send a command, follow its state, roll out a signed model.

A command is sent at once when the broker is reachable and kept queued otherwise; the box's
status settles it (applied, or failed with the box's reason), and a box that was away gets it
when it is back (gateway/consumers/box_commands.py). A model goes out by a rollout to a share
of a school's boxes, chosen in a fixed order for that model so that raising the share adds
boxes and never swaps them; each box downloads the file with a token of its own command.
"""

from __future__ import annotations

import hashlib
import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from campusedge.topics import cmd_topic
from gateway.api.deps import (
    AuditDep,
    BoxCommandsDep,
    CampusIT,
    DevicesDep,
    FleetDep,
    IngestDep,
    ModelStoreDep,
    check_school,
)
from gateway.api.refusals import Refusal
from gateway.devices import Devices
from gateway.fleet.commands import BoxCommand, BoxCommands, CommandState
from gateway.fleet.registry import FleetRegistry
from gateway.i18n import N_
from gateway.ingest import Ingest

router = APIRouter(prefix="/api/fleet", tags=["fleet"])

SUBJECT = "edge_box"


class CommandCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    school: str = Field(min_length=1, max_length=64)
    box: str = Field(min_length=1, max_length=64)
    name: Literal["config", "rope"] = Field(description="models go out by a rollout")
    body: dict[str, Any] = Field(description="the command's JSON object (docs/edge.md)")


class CommandPublic(BaseModel):
    id: str
    school: str
    box: str
    name: str
    body: dict[str, Any]
    state: CommandState
    detail: str
    created_by: str
    created_at: str
    sent_at: str | None
    done_at: str | None


class ModelPublic(BaseModel):
    file: str
    sha256: str
    size: int


class RolloutCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    school: str = Field(min_length=1, max_length=64)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    percent: int = Field(ge=1, le=100, description="share of the school's boxes to have it")


class RolloutPublic(BaseModel):
    boxes: int = Field(description="edge boxes of the school")
    included: list[str] = Field(description="boxes in the share, in rollout order")
    queued: list[CommandPublic] = Field(description="model commands made by this call")


def _public(command: BoxCommand) -> CommandPublic:
    return CommandPublic(**command.__dict__)


def _boxes(fleet: FleetRegistry, registry: Devices, school: str) -> list[str]:
    enrolled = {i.box for i in fleet.boxes(frozenset({school})) if i.box}
    heard = {box for s, box in registry.edge_box_ids() if s == school}
    return sorted(enrolled | heard)


def _send(commands: BoxCommands, ingest: Ingest, command: BoxCommand) -> BoxCommand:
    if ingest.publish_command(
        cmd_topic(command.school, command.box, command.name), command.payload()
    ):
        commands.mark_sent(command.id)
    # Not connected: it stays queued, and goes when the box's next status comes in.
    return commands.get(command.school, command.id) or command


@router.post("/commands", status_code=status.HTTP_201_CREATED, response_model=CommandPublic)
def send_command(
    body: CommandCreate,
    commands: BoxCommandsDep,
    fleet: FleetDep,
    registry: DevicesDep,
    ingest: IngestDep,
    audit: AuditDep,
    user: CampusIT,
) -> CommandPublic:
    check_school(user, body.school)
    if body.box not in _boxes(fleet, registry, body.school):
        raise Refusal(
            404, N_("no edge box {box!r} in school {school!r}"), box=body.box, school=body.school
        )
    if "command_id" in body.body:
        raise Refusal(422, N_("the body may not set command_id: the gateway numbers commands"))
    command = commands.queue(body.school, body.box, body.name, body.body, user.id)
    audit.record(
        user, "send_command", SUBJECT, f"{body.school}/{body.box}", f"{body.name} {command.id}"
    )
    return _public(_send(commands, ingest, command))


@router.get("/commands", response_model=list[CommandPublic])
def list_commands(
    commands: BoxCommandsDep,
    user: CampusIT,
    school: Annotated[str, Query(min_length=1, max_length=64)],
    box: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> list[CommandPublic]:
    check_school(user, school)
    return [_public(c) for c in commands.list(school, box)]


@router.get("/models", response_model=list[ModelPublic])
def list_models(models: ModelStoreDep, user: CampusIT) -> list[ModelPublic]:
    return [ModelPublic(file=m.file, sha256=m.sha256, size=m.size) for m in models.all()]


@router.post("/rollouts", status_code=status.HTTP_201_CREATED, response_model=RolloutPublic)
def roll_out(
    body: RolloutCreate,
    request: Request,
    commands: BoxCommandsDep,
    models: ModelStoreDep,
    fleet: FleetDep,
    registry: DevicesDep,
    ingest: IngestDep,
    audit: AuditDep,
    user: CampusIT,
) -> RolloutPublic:
    check_school(user, body.school)
    model = models.get(body.sha256)
    if model is None:
        raise Refusal(404, N_("no model {sha256!r} on this gateway"), sha256=body.sha256)
    boxes = _boxes(fleet, registry, body.school)
    # A fixed order per model: 10 % then 50 % reaches the first boxes again plus more.
    order = sorted(boxes, key=lambda b: hashlib.sha256(f"{body.sha256}/{b}".encode()).digest())
    included = order[: math.ceil(len(order) * body.percent / 100)]
    offered = {
        c.box
        for c in commands.list(body.school, limit=10_000)
        if c.name == "model"
        and c.body.get("sha256") == body.sha256
        and c.state is not CommandState.FAILED
    }
    base = str(request.base_url).rstrip("/")
    queued: list[CommandPublic] = []
    for box in included:
        if box in offered:
            continue
        command = commands.queue(
            body.school,
            box,
            "model",
            {"file": model.file, "sha256": model.sha256, "signature": model.signature},
            user.id,
        )
        token = commands.allow_download(command.id, model.sha256)
        url = f"{base}/api/fleet/models/{model.sha256}/file?token={token}"
        command = commands.set_body(command, {**command.body, "url": url})
        queued.append(_public(_send(commands, ingest, command)))
    audit.record(
        user,
        "roll_out_model",
        SUBJECT,
        body.school,
        f"{model.file} {model.sha256[:12]} {body.percent}% -> {len(queued)} new",
    )
    return RolloutPublic(boxes=len(boxes), included=included, queued=queued)


@router.get("/models/{sha256}/file", response_class=FileResponse)
def model_file(
    sha256: str,
    request: Request,
    models: ModelStoreDep,
    commands: BoxCommandsDep,
    token: Annotated[str | None, Query(max_length=64)] = None,
) -> FileResponse:
    """A box fetches the model of its command with that command's token (boxes have no user
    token); an unknown, expired or mistyped token is told nothing about the file."""
    if "authorization" in request.headers:
        raise Refusal(
            403, N_("model downloads are for edge boxes, with their command's download token")
        )
    model = models.get(sha256)
    if model is None or token is None or not commands.may_download(sha256, token):
        raise Refusal(404, N_("no such model download"))
    return FileResponse(
        models.path(sha256), media_type="application/octet-stream", filename=model.file
    )
