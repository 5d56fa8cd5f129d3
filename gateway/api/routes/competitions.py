"""The rope-skipping competition: define and list, leaderboard, export, held results' review.

Campus IT defines a competition over schools they belong to (the district role reads
aggregates only and defines no competition yet; see docs/competition.md). Staff of a school
taking part read its leaderboard and export, which show no student ids and no names unless
the competition allows them. PE teachers of a school see that school's held results and
approve or reject them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from gateway.api.deps import (
    AnyStaff,
    CampusIT,
    CompetitionsDep,
    FailedLoginsDep,
    LanguageDep,
    RowId,
    Teacher,
    TranslatorDep,
    UsersDep,
    bearer_token,
    check_school,
)
from gateway.api.event_stream import EventStream
from gateway.api.refusals import Refusal
from gateway.api.routes.alert_stream import StreamCaller, still_allowed, stream_user
from gateway.auth import User
from gateway.competition.config import CompetitionConfig, CompetitionConfigError, load
from gateway.competition.export import rows
from gateway.competition.leaderboard import Leaderboard, leaderboard
from gateway.competition.live import ENDED
from gateway.competition.results import (
    CompetitionExists,
    Competitions,
    NotHeld,
    StoredResult,
)
from gateway.fitness.export import to_csv, to_xlsx
from gateway.i18n import N_

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/competitions", tags=["competitions"])


class ResultPublic(BaseModel):
    """A stored set as PE teachers review it: pseudonymous ids, no names."""

    id: int
    round_id: str | None
    event: str
    school: str
    device_id: str
    seq: int
    student_id: str | None
    class_id: str | None
    count: int
    trips: int
    started_at: datetime
    finished_at: datetime
    status: str
    reasons: list[str]


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject"]


def _public(r: StoredResult) -> ResultPublic:
    return ResultPublic(
        id=r.id,
        round_id=r.round_id,
        event=r.event,
        school=r.school,
        device_id=r.device_id,
        seq=r.seq,
        student_id=r.student_id,
        class_id=r.class_id,
        count=r.count,
        trips=r.trips,
        started_at=r.started_at,
        finished_at=r.finished_at,
        status=r.status,
        reasons=list(r.reasons),
    )


@dataclass(frozen=True)
class BoardReader:
    """Who reads a board: a signed-in staff member, or nobody (a public board's screen)."""

    caller: StreamCaller | None


def board_reader(
    request: Request,
    users: UsersDep,
    limiter: FailedLoginsDep,
    authorization: Annotated[str | None, Header()] = None,
    access_token: Annotated[str | None, Query()] = None,
) -> BoardReader:
    """A token (header, or `?access_token=` for a stream) is checked as everywhere: it must be
    valid and of a staff role. Without one, only a public board answers (`_readable`)."""
    if bearer_token(authorization) is None and not access_token:
        return BoardReader(None)
    return BoardReader(stream_user(request, users, limiter, authorization, access_token))


def _readable(
    competitions: Competitions, reader: BoardReader, competition_id: str
) -> CompetitionConfig:
    """The competition, if the reader may read its board: anyone a public one; staff of a
    school taking part any other (another's is unknown, 404); without a token, 401 (an
    unknown id is answered alike: it tells a stranger nothing)."""
    found = competitions.get(competition_id)
    if found is not None and found.public_board:
        return found
    if reader.caller is not None:
        return _visible(competitions, reader.caller.user, competition_id)
    raise Refusal(
        status.HTTP_401_UNAUTHORIZED,
        N_("send 'Authorization: Bearer <token>' (campusedge gateway user add)"),
        headers={"WWW-Authenticate": "Bearer"},
    )


def _visible(competitions: Competitions, user: User, competition_id: str) -> CompetitionConfig:
    """The competition, if a school of the user takes part; else 404, as for an unknown one."""
    found = competitions.get(competition_id)
    if found is None or not user.schools.intersection(found.schools):
        raise Refusal(
            status.HTTP_404_NOT_FOUND,
            N_("no competition {competition_id!r}"),
            competition_id=competition_id,
        )
    return found


async def raw_body(request: Request) -> bytes:
    """The body as sent: JSON or YAML, read by `load`, whose errors name the field."""
    return await request.body()


@router.post(
    "",
    status_code=201,
    response_model=CompetitionConfig,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/CompetitionConfig"}},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
def define_competition(
    competitions: CompetitionsDep,
    user: CampusIT,
    body: Annotated[bytes, Depends(raw_body)],
) -> CompetitionConfig:
    """A competition in YAML or JSON (docs/competition.md); every school in it must be one of
    the user's."""
    try:
        config = load(body.decode("utf-8"), "(request body)")
    except UnicodeDecodeError:
        raise Refusal(422, N_("the competition must be UTF-8 text")) from None
    except CompetitionConfigError as exc:
        raise Refusal.of(422, exc) from None
    for school in config.schools:
        check_school(user, school)
    try:
        competitions.define(config, user.id)
    except CompetitionExists as exc:
        raise Refusal.of(409, exc) from None
    return config


@router.get("", response_model=list[CompetitionConfig])
def list_competitions(competitions: CompetitionsDep, user: AnyStaff) -> list[CompetitionConfig]:
    """The competitions a school of the user takes part in, the earliest first."""
    return [c for c in competitions.all() if user.schools.intersection(c.schools)]


def _board(competitions: Competitions, config: CompetitionConfig) -> Leaderboard:
    def build() -> Leaderboard:
        entries, names, classes = competitions.board_rows(config.id)
        return leaderboard(config, entries, names.get, classes.get)

    return competitions.board(config.id, build)


@router.get("/{competition_id}/leaderboard", response_model=Leaderboard)
def competition_leaderboard(
    competition_id: str,
    competitions: CompetitionsDep,
    reader: Annotated[BoardReader, Depends(board_reader)],
) -> Leaderboard:
    """Rankings of ranked and approved sets: no student ids; initials unless allowed. Staff of
    a school taking part, or anyone when the competition has `public_board: true`."""
    return _board(competitions, _readable(competitions, reader, competition_id))


@router.get("/{competition_id}/stream")
async def competition_stream(
    competition_id: str,
    request: Request,
    competitions: CompetitionsDep,
    users: UsersDep,
    reader: Annotated[BoardReader, Depends(board_reader)],
) -> EventStream:
    """The leaderboard as server-sent events: `event: leaderboard` with the whole board (as
    GET .../leaderboard) at once and again after each change of its results. Who may open
    it: as for GET .../leaderboard."""
    config = await run_in_threadpool(_readable, competitions, reader, competition_id)
    caller = reader.caller
    sub = competitions.hub.subscribe(config.id, asyncio.get_running_loop())

    async def events() -> AsyncIterator[str]:
        try:
            yield ": subscribed\n\n"
            while True:
                board = await run_in_threadpool(_board, competitions, config)
                yield f"event: leaderboard\ndata: {board.model_dump_json()}\n\n"
                while True:
                    try:
                        mark = await asyncio.wait_for(sub.next(), timeout=15)
                    except TimeoutError:
                        if await request.is_disconnected():
                            return
                        if caller and not await run_in_threadpool(still_allowed, users, caller):
                            return
                        yield ": keep-alive\n\n"
                        continue
                    break
                if mark is ENDED:
                    return  # the gateway is stopping
                if caller and not await run_in_threadpool(still_allowed, users, caller):
                    log.info("leaderboard stream of %s ended: access revoked", caller.user.id)
                    return
        finally:
            competitions.hub.unsubscribe(sub)

    return EventStream(events(), sub.cut)


@router.get("/{competition_id}/export")
def competition_export(
    competition_id: str,
    competitions: CompetitionsDep,
    user: AnyStaff,
    translator: TranslatorDep,
    language: LanguageDep,
    format: Literal["csv", "xlsx"] = "csv",
) -> Response:
    """The final results as the leaderboard shows them, one row per individual, class, school."""
    config = _visible(competitions, user, competition_id)
    header, table = rows(_board(competitions, config), translator)
    spoken = {"Content-Language": language.replace("_", "-"), "Vary": "Accept-Language"}
    stem = f"competition-{config.id}"
    if format == "csv":
        return Response(
            to_csv(header, table),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{stem}.csv"', **spoken},
        )
    return Response(
        to_xlsx(header, table, config.id),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"', **spoken},
    )


@router.get("/{competition_id}/held", response_model=list[ResultPublic])
def held_results(
    competition_id: str, competitions: CompetitionsDep, user: Teacher
) -> list[ResultPublic]:
    """Sets of the teacher's schools held for review, with their reasons, oldest first."""
    config = _visible(competitions, user, competition_id)
    return [_public(r) for r in competitions.results(config.id, user.schools, statuses=("held",))]


@router.post("/results/{result_id}/review", response_model=ResultPublic)
def review_result(
    result_id: RowId, body: Review, competitions: CompetitionsDep, user: Teacher
) -> ResultPublic:
    """Approve (the set is ranked) or reject a held set of one of the teacher's schools."""
    found = competitions.result(result_id)
    if found is None or found.school not in user.schools:
        raise Refusal(
            status.HTTP_404_NOT_FOUND, N_("no competition result {result_id}"), result_id=result_id
        )
    try:
        return _public(competitions.review(result_id, body.decision, user.id))
    except NotHeld as exc:
        raise Refusal.of(409, exc) from None
