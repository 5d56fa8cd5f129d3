"""Commands to edge boxes: queued here, sent with an id, and settled by the box's own report.

A command is `queued` until the gateway has handed it to the broker (`sent`), and `applied` or
`failed` (with the box's reason) once the box's status reports its id. A box that is away gets
what it has not reported on when its status says it is back: the box does each id once and
only says its result again, so sending twice never applies twice.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import RowMapping, and_, select, update

from campusedge.contract import CommandResult
from campusedge.topics import check_id
from gateway.state import StateDB
from gateway.tables.box_commands import box_commands

COMMAND_NAMES = ("config", "rope", "model")
# A model download link is good for this long after the command is made.
DOWNLOAD_FOR = timedelta(hours=24)


class CommandState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    APPLIED = "applied"
    FAILED = "failed"


class CommandError(ValueError):
    """A command that cannot be queued as asked; the message says why."""


@dataclass(frozen=True)
class BoxCommand:
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

    def payload(self) -> bytes:
        """What goes on `…/edge/{box}/cmd/{name}`: the body with the id the box reports."""
        return json.dumps({**self.body, "command_id": self.id}).encode()


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class BoxCommands:
    """The command queue of the state database."""

    def __init__(self, db: StateDB) -> None:
        self.db = db

    def queue(self, school: str, box: str, name: str, body: dict[str, Any], by: str) -> BoxCommand:
        check_id(school, "school id")
        check_id(box, "box id")
        if name not in COMMAND_NAMES:
            raise CommandError(f"unknown command {name!r} (one of {', '.join(COMMAND_NAMES)})")
        if "command_id" in body:
            raise CommandError("the body may not set command_id: the gateway numbers commands")
        command_id = f"cmd-{secrets.token_hex(8)}"
        with self.db.transaction() as conn:
            conn.execute(
                box_commands.insert().values(
                    id=command_id,
                    school=school,
                    box=box,
                    name=name,
                    body=json.dumps(body, ensure_ascii=False),
                    state=CommandState.QUEUED.value,
                    detail="",
                    created_by=by,
                    created_at=_iso(_now()),
                )
            )
        found = self.get(school, command_id)
        assert found is not None
        return found

    def set_body(self, command: BoxCommand, body: dict[str, Any]) -> BoxCommand:
        """Change a queued command's body before it is sent (a model command's download link,
        which needs the command's id first)."""
        with self.db.transaction() as conn:
            conn.execute(
                update(box_commands)
                .where(box_commands.c.id == command.id)
                .values(body=json.dumps(body, ensure_ascii=False))
            )
        found = self.get(command.school, command.id)
        assert found is not None
        return found

    def allow_download(self, command_id: str, sha256: str) -> str:
        """A one-time-use-per-day token for the box to fetch the model file *sha256*."""
        token = secrets.token_urlsafe(24)
        with self.db.transaction() as conn:
            conn.execute(
                update(box_commands)
                .where(box_commands.c.id == command_id)
                .values(
                    download_sha256=f"{sha256}:{token_digest(token)}",
                    download_until=_iso(_now() + DOWNLOAD_FOR),
                )
            )
        return token

    def may_download(self, sha256: str, token: str) -> bool:
        """Whether *token* was issued for the model file *sha256* and is still good."""
        rows = self.db.query(
            select(box_commands.c.download_until).where(
                box_commands.c.download_sha256 == f"{sha256}:{token_digest(token)}"
            )
        )
        return any(r["download_until"] and r["download_until"] >= _iso(_now()) for r in rows)

    def mark_sent(self, command_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                update(box_commands)
                .where(
                    and_(
                        box_commands.c.id == command_id,
                        box_commands.c.state.in_(
                            [CommandState.QUEUED.value, CommandState.SENT.value]
                        ),
                    )
                )
                .values(state=CommandState.SENT.value, sent_at=_iso(_now()))
            )

    def settle(self, school: str, box: str, results: Iterable[CommandResult]) -> int:
        """Record what the box says it did; returns how many commands changed state."""
        changed = 0
        with self.db.transaction() as conn:
            for result in results:
                state = CommandState.APPLIED if result.ok else CommandState.FAILED
                changed += conn.execute(
                    update(box_commands)
                    .where(
                        and_(
                            box_commands.c.id == result.id,
                            box_commands.c.school == school,
                            box_commands.c.box == box,
                            box_commands.c.state.in_(
                                [CommandState.QUEUED.value, CommandState.SENT.value]
                            ),
                        )
                    )
                    .values(
                        state=state.value,
                        detail=result.detail[:256],
                        done_at=_iso(result.at),
                    )
                ).rowcount
        return changed

    def unsettled(self, school: str, box: str) -> list[BoxCommand]:
        """What the box has not reported on, oldest first (to send again when it is back)."""
        return [
            c for c in self.list(school, box) if c.state in (CommandState.QUEUED, CommandState.SENT)
        ][::-1]

    def get(self, school: str, command_id: str) -> BoxCommand | None:
        rows = self.db.query(
            select(box_commands).where(
                and_(box_commands.c.id == command_id, box_commands.c.school == school)
            )
        )
        return _command(rows[0]) if rows else None

    def list(self, school: str, box: str | None = None, limit: int = 200) -> list[BoxCommand]:
        """Newest first."""
        query = select(box_commands).where(box_commands.c.school == school)
        if box is not None:
            query = query.where(box_commands.c.box == box)
        query = query.order_by(box_commands.c.created_at.desc(), box_commands.c.id).limit(limit)
        return [_command(r) for r in self.db.query(query)]


def _command(r: RowMapping) -> BoxCommand:
    return BoxCommand(
        id=r["id"],
        school=r["school"],
        box=r["box"],
        name=r["name"],
        body=json.loads(r["body"]),
        state=CommandState(r["state"]),
        detail=r["detail"] or "",
        created_by=r["created_by"],
        created_at=r["created_at"],
        sent_at=r["sent_at"],
        done_at=r["done_at"],
    )
