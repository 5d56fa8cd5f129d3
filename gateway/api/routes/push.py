"""HTTP push ingest: a device or vendor cloud posts a reading with its own push token.

`POST /api/ingest/{school}/{device}`. The body is mapped to a contract envelope by the
device's payload mapping (gateway.push.mapping) and committed through ingest's own path
(`Ingest.push`: validate, bind, deduplicate on (school, device, seq), store, log); the answer
comes only after that commit, so a 200 is the acknowledgement and anything else means "send
it again". A body that cannot be stored is kept as a dead letter with its reason, and the
client hears the reason with a 4xx.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Request, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from campusedge.topics import Channel, DeviceTopic, TopicError
from gateway.api.deps import FailedLoginsDep, GatewayDep, bearer_token
from gateway.api.login_limit import FailedLogins
from gateway.api.refusals import Refusal
from gateway.auth import User
from gateway.i18n import N_
from gateway.ingest import Inbound
from gateway.push.mapping import MappingError, decode
from gateway.push.tokens import PushDevice
from gateway.service import Gateway
from gateway.store.base import DeadLetter

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/ingest", tags=["ingest"])

# A refused body answers 413 (too large), 400 (not JSON at all) or 422 (JSON the mapping or
# the contract refuses): each with the dead letter's reason.
_STATUS_OF_REASON = {
    "too_large": status.HTTP_413_CONTENT_TOO_LARGE,
    "not_json": status.HTTP_400_BAD_REQUEST,
}
Id = Annotated[str, Path(min_length=1, max_length=64)]


class PushStored(BaseModel):
    """What the gateway stored (or had stored already: a retried post)."""

    school: str
    device_id: str
    seq: int = Field(description="the message's sequence number, from the body or derived")
    duplicate: bool = Field(
        description="true when this message (school, device, seq) was stored before: a retry"
    )


@router.post(
    "/{school}/{device}",
    response_model=PushStored,
    # The body is read raw (its mapping says what it holds): declared here for the schema.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "the device's JSON, read by its payload mapping",
        }
    },
    responses={
        400: {"description": "the body is not JSON (kept as a dead letter)"},
        401: {"description": "no push token, or one no device has"},
        403: {"description": "a person's token, or another device's push token"},
        413: {"description": "the body is too large (kept as a dead letter)"},
        422: {"description": "the mapping or the contract refuses the body (dead letter)"},
        503: {"description": "the store cannot write now: send it again later"},
    },
)
async def push_reading(
    school: Id,
    device: Id,
    request: Request,
    gateway: GatewayDep,
    limiter: FailedLoginsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> PushStored:
    """Store one message of a device that cannot speak MQTT; the answer follows the commit."""
    received_at = time.time()
    body = await request.body()
    source = request.client.host if request.client is not None else "unknown"
    return await run_in_threadpool(
        _push, gateway, limiter, source, bearer_token(authorization), school, device, body,
        received_at,
    )  # fmt: skip


def _push(
    gateway: Gateway,
    limiter: FailedLogins,
    source: str,
    token: str | None,
    school: str,
    device: str,
    body: bytes,
    received_at: float,
) -> PushStored:
    metrics = gateway.metrics
    try:
        pushing = _authenticate(gateway, limiter, source, token, school, device)
    except Refusal:
        metrics.push_requests.labels(outcome="refused").inc()
        raise
    mapping = gateway.push_mappings.get(pushing.mapping)
    if mapping is None:
        metrics.push_requests.labels(outcome="failed").inc()
        log.error(
            "device %s of school %s pushes with mapping %r, which this gateway has not loaded",
            device,
            school,
            pushing.mapping,
        )
        raise Refusal(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            N_("this gateway has no push mapping {mapping!r}: campus IT must add its file"),
            mapping=pushing.mapping,
        )
    channel = Channel.EVENT if mapping.channel == "event" else Channel.READING
    try:
        topic = str(DeviceTopic(school, mapping.kind, device, channel))
    except TopicError:  # ids the token was minted for are valid: not reached
        raise Refusal(status.HTTP_404_NOT_FOUND, N_("no such device")) from None
    at = datetime.fromtimestamp(received_at, UTC)
    entry: Inbound | DeadLetter
    try:
        envelope = decode(body, mapping, device, at, gateway.settings.ingest.max_payload_bytes)
        entry = Inbound(topic, json.dumps(envelope).encode(), 0, 0, received_at, body=body)
    except MappingError as exc:
        entry = DeadLetter(school, topic, exc.reason, exc.detail, body, at)
    try:
        committed = gateway.ingest.push(entry)
    except Exception:
        metrics.push_requests.labels(outcome="failed").inc()
        log.exception("a push of device %s of school %s could not be committed", device, school)
        raise Refusal(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            N_("the gateway cannot store readings now; send the same body again later"),
            headers={"Retry-After": "5"},
        ) from None
    if committed.dead_letters:
        metrics.push_requests.labels(outcome="dead_lettered").inc()
        letter = committed.dead_letters[0]
        raise Refusal(
            _STATUS_OF_REASON.get(letter.reason, status.HTTP_422_UNPROCESSABLE_CONTENT),
            N_("refused and kept as a dead letter ({reason}): {detail}"),
            reason=letter.reason,
            detail=letter.detail,
        )
    [stored] = committed.messages
    duplicate = committed.inserted == 0
    metrics.push_requests.labels(outcome="duplicate" if duplicate else "stored").inc()
    return PushStored(school=school, device_id=device, seq=stored.seq, duplicate=duplicate)


def _authenticate(
    gateway: Gateway,
    limiter: FailedLogins,
    source: str,
    token: str | None,
    school: str,
    device: str,
) -> PushDevice:
    """The device *token* is the push token of, if it is *device*'s of *school*; else why not."""
    wait = limiter.retry_after(source)
    if wait:
        raise Refusal(
            status.HTTP_429_TOO_MANY_REQUESTS,
            N_("too many failed sign-ins from {source}; try again in {wait} s"),
            headers={"Retry-After": str(wait)},
            source=source,
            wait=wait,
        )
    if not token:
        raise Refusal(
            status.HTTP_401_UNAUTHORIZED,
            N_(
                "send 'Authorization: Bearer <push token>' with the device's push token "
                "(campusedge provision push-token mint)"
            ),
            headers={"WWW-Authenticate": "Bearer"},
        )
    pushing = gateway.push_tokens.verify(token)
    if pushing is None:
        if isinstance(gateway.users.verify(token), User):
            # A person's token is refused whatever its role: readings come from devices, and
            # a leaked staff token must not be able to write them.
            raise Refusal(
                status.HTTP_403_FORBIDDEN,
                N_(
                    "a person's token cannot push readings: a device posts with its own push "
                    "token (campusedge provision push-token mint)"
                ),
            )
        limiter.failed(source, token)
        raise Refusal(
            status.HTTP_401_UNAUTHORIZED,
            N_("unknown or revoked push token"),
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if (pushing.school, pushing.device_id) != (school, device):
        raise Refusal(
            status.HTTP_403_FORBIDDEN,
            N_("this push token is another device's: each device posts with its own"),
        )
    return pushing
