"""Push tokens: one per device that posts over HTTP, shown once, only its SHA-256 stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Row, RowMapping, delete, select, update

from campusedge.topics import check_id
from gateway.push.mapping import MAPPING_NAME
from gateway.state import StateDB
from gateway.tables.push import push_tokens

# A prefix no user token has (theirs are bare url-safe base64), so that a token pasted into
# the wrong place is recognised, and secret scanners can find a leaked one.
PREFIX = "cepush_"


class PushTokenError(ValueError):
    """A token cannot be issued, rotated or revoked as asked; the message says why."""


@dataclass(frozen=True)
class PushDevice:
    """A device allowed to push, and the mapping its bodies are read with."""

    school: str
    device_id: str
    mapping: str
    created_at: str


def _digest(token: str) -> str:
    # As for user tokens (gateway.auth): 192 random bits leave nothing for a slow hash to guard.
    return hashlib.sha256(token.encode()).hexdigest()


def _new() -> tuple[str, str]:
    token = PREFIX + secrets.token_urlsafe(24)
    return token, _digest(token)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class PushTokens:
    """The push tokens of the state database."""

    def __init__(self, db: StateDB) -> None:
        self.db = db

    def mint(self, school: str, device_id: str, mapping: str) -> str:
        """A token for a device that has none; PushTokenError if it has one (rotate it)."""
        check_id(school, "school id")
        check_id(device_id, "device id")
        if not MAPPING_NAME.fullmatch(mapping):
            raise PushTokenError(f"invalid mapping name {mapping!r}: the file name without .yaml")
        token, digest = _new()
        with self.db.transaction() as conn:
            if self._row(conn, school, device_id) is not None:
                raise PushTokenError(
                    f"device {device_id} of school {school} has a push token already: rotate "
                    "it (or revoke it first to change its mapping)"
                )
            conn.execute(
                push_tokens.insert().values(
                    school=school,
                    device_id=device_id,
                    mapping=mapping,
                    token_sha256=digest,
                    created_at=_now(),
                )
            )
        return token

    def rotate(self, school: str, device_id: str) -> str:
        """A new token for the device; its old one stops working at once."""
        token, digest = _new()
        with self.db.transaction() as conn:
            changed = conn.execute(
                update(push_tokens)
                .where(push_tokens.c.school == school, push_tokens.c.device_id == device_id)
                .values(token_sha256=digest, created_at=_now())
            ).rowcount
        if not changed:
            raise PushTokenError(f"device {device_id} of school {school} has no push token")
        return token

    def revoke(self, school: str, device_id: str) -> None:
        with self.db.transaction() as conn:
            gone = conn.execute(
                delete(push_tokens).where(
                    push_tokens.c.school == school, push_tokens.c.device_id == device_id
                )
            ).rowcount
        if not gone:
            raise PushTokenError(f"device {device_id} of school {school} has no push token")

    def verify(self, token: str) -> PushDevice | None:
        """The device *token* belongs to, None for a token no device has (now)."""
        rows = self.db.query(_SELECT.where(push_tokens.c.token_sha256 == _digest(token)))
        return _device(rows[0]) if rows else None

    def all(self) -> list[PushDevice]:
        rows = self.db.query(_SELECT.order_by(push_tokens.c.school, push_tokens.c.device_id))
        return [_device(r) for r in rows]

    @staticmethod
    def _row(conn: Connection, school: str, device_id: str) -> Row[tuple[str]] | None:
        return conn.execute(
            select(push_tokens.c.device_id).where(
                push_tokens.c.school == school, push_tokens.c.device_id == device_id
            )
        ).first()


_SELECT = select(
    push_tokens.c.school, push_tokens.c.device_id, push_tokens.c.mapping, push_tokens.c.created_at
)


def _device(row: RowMapping) -> PushDevice:
    return PushDevice(row["school"], row["device_id"], row["mapping"], row["created_at"])
