"""Start or end a timed rope test on a running lesson's ropes: a command to each edge box."""

from __future__ import annotations

import json
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from campusedge.topics import DeviceKind, cmd_topic
from gateway.api.access import lesson_access
from gateway.api.deps import DevicesDep, IngestDep, RosterDep, Teacher
from gateway.api.refusals import Refusal
from gateway.i18n import N_

router = APIRouter(prefix="/api/lessons", tags=["lessons"])


class RopeTest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["start", "end"]
    # The 2014 standard's rope item is one minute; a teacher may practise shorter or longer.
    seconds: int = Field(default=60, ge=10, le=600)


class RopeTestSent(BaseModel):
    sent: dict[str, list[str]] = Field(description="edge box id -> the ropes told through it")
    unreachable: list[str] = Field(
        description="devices of the lesson never heard (of unknown kind), and ropes heard "
        "without an edge box: start those by hand"
    )


@router.post("/{lesson_id}/rope-test", response_model=RopeTestSent)
def rope_test(
    lesson_id: str,
    body: RopeTest,
    roster: RosterDep,
    registry: DevicesDep,
    ingest: IngestDep,
    user: Teacher,
) -> RopeTestSent:
    lesson, _access = lesson_access(roster, user, lesson_id)
    if lesson.ended_at is not None:
        raise Refusal(409, N_("lesson {lesson_id!r} has ended"), lesson_id=lesson_id)
    school = (roster.class_of(lesson.class_id) or {}).get("school")
    by_box: dict[str, list[str]] = {}
    unreachable: list[str] = []
    for device_id in sorted(roster.assignments(lesson.id)):
        record = registry.get(device_id, school)
        if record is not None and record.kind != DeviceKind.JUMP_ROPE.value:
            continue  # a band
        if record is None or record.edge_id is None:
            unreachable.append(device_id)
        else:
            by_box.setdefault(record.edge_id, []).append(device_id)
    if not by_box:
        raise Refusal(
            409,
            N_("no rope of lesson {lesson_id!r} is known behind an edge box"),
            lesson_id=lesson_id,
        )
    command: dict[str, object] = (
        {"action": "start", "mode": "countdown_time", "set_value": body.seconds}
        if body.action == "start"
        else {"action": "end"}
    )
    assert school is not None  # lesson_access found the class in the user's schools
    for edge_id, ropes in by_box.items():
        payload = json.dumps({**command, "ropes": ropes}).encode()
        if not ingest.publish_command(cmd_topic(school, edge_id, "rope"), payload):
            raise Refusal(
                503,
                N_("the gateway is not connected to the MQTT broker; try again in a moment"),
            )
    return RopeTestSent(sent=by_box, unreachable=unreachable)
