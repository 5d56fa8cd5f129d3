"""API users, their roles and bearer tokens (only a token's SHA-256 is stored)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from gateway.state import StateDB

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
"""


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
        db.ensure(SCHEMA)

    def create(self, user_id: str, display_name: str, role: Role) -> str:
        token = secrets.token_urlsafe(24)
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO users(id, display_name, role, token_sha256) VALUES (?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET display_name=excluded.display_name, "
                "role=excluded.role, token_sha256=excluded.token_sha256",
                (user_id, display_name, role.value, _digest(token)),
            )
        return token

    def authenticate(self, token: str) -> User | None:
        rows = self.db.query(
            "SELECT id, display_name, role FROM users WHERE token_sha256=?", (_digest(token),)
        )
        if not rows:
            return None
        row = rows[0]
        return User(row["id"], row["display_name"], Role(row["role"]))

    def get(self, user_id: str) -> User | None:
        rows = self.db.query("SELECT id, display_name, role FROM users WHERE id=?", (user_id,))
        return User(rows[0]["id"], rows[0]["display_name"], Role(rows[0]["role"])) if rows else None

    def delete(self, user_id: str) -> None:
        """Revoke a user: their token stops working at once; the audit log keeps their id."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM users WHERE id=?", (user_id,))

    def all(self) -> list[User]:
        return [
            User(r["id"], r["display_name"], Role(r["role"]))
            for r in self.db.query("SELECT id, display_name, role FROM users ORDER BY id")
        ]
