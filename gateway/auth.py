"""API users, their roles and bearer tokens (only a token's SHA-256 is stored)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import RowMapping, delete, select

from gateway.state import StateDB, upsert
from gateway.tables.people import users

# User ids end up in audit rows, URLs (`pe_teacher_id`), shell commands and log lines: letters,
# digits and `. _ @ -`, so that `t.li` and `wang@school` work and nothing needs quoting.
_USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def check_user_id(user_id: str) -> str:
    """Return *user_id* if it is a valid new user id, else raise ValueError saying why."""
    if not _USER_ID.fullmatch(user_id):
        raise ValueError(
            f"invalid user id {user_id!r}: use 1-64 characters from A-Z a-z 0-9 "
            ". _ @ -, starting with a letter or digit (no spaces)"
        )
    return user_id


class Role(StrEnum):
    CAMPUS_IT = "campus_it"
    PE_TEACHER = "pe_teacher"
    HEALTH_STAFF = "health_staff"


@dataclass(frozen=True)
class User:
    id: str
    display_name: str
    role: Role


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Users:
    """User accounts; tokens are shown once at creation and never stored in clear."""

    def __init__(self, db: StateDB) -> None:
        self.db = db

    def create(self, user_id: str, display_name: str, role: Role) -> str:
        token = secrets.token_urlsafe(24)
        with self.db.transaction() as conn:
            upsert(
                conn,
                users,
                {
                    "id": user_id,
                    "display_name": display_name,
                    "role": role.value,
                    "token_sha256": _digest(token),
                },
                keys=["id"],
            )
        return token

    def authenticate(self, token: str) -> User | None:
        rows = self.db.query(_USER.where(users.c.token_sha256 == _digest(token)))
        return _user(rows[0]) if rows else None

    def get(self, user_id: str) -> User | None:
        rows = self.db.query(_USER.where(users.c.id == user_id))
        return _user(rows[0]) if rows else None

    def delete(self, user_id: str) -> None:
        """Revoke a user: their token stops working at once; the audit log keeps their id."""
        with self.db.transaction() as conn:
            conn.execute(delete(users).where(users.c.id == user_id))

    def all(self) -> list[User]:
        return [_user(r) for r in self.db.query(_USER.order_by(users.c.id))]


_USER = select(users.c.id, users.c.display_name, users.c.role)


def _user(row: RowMapping) -> User:
    return User(row["id"], row["display_name"], Role(row["role"]))
