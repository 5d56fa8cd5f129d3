"""API users, their roles and bearer tokens (only a token's SHA-256 is stored; tokens expire)."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Connection, RowMapping, delete, insert, select, update

from campusedge.words import Shown
from gateway.i18n import N_
from gateway.state import StateDB, upsert
from gateway.tables.districts import district_schools, user_districts
from gateway.tables.people import user_schools, users

# User ids end up in audit rows, URLs (`pe_teacher_id`), shell commands and log lines: letters,
# digits and `. _ @ -`, so that `t.li` and `wang@school` work and nothing needs quoting.
_USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class InvalidId(Shown, ValueError):
    """An id that cannot be used; the message says which characters can."""


def check_user_id(user_id: str) -> str:
    """Return *user_id* if it is a valid new user id, else raise InvalidId saying why."""
    if not _USER_ID.fullmatch(user_id):
        raise InvalidId(
            N_(
                "invalid user id {user_id!r}: use 1-64 characters from A-Z a-z 0-9 "
                ". _ @ -, starting with a letter or digit (no spaces)"
            ),
            user_id=user_id,
        )
    return user_id


class Role(StrEnum):
    CAMPUS_IT = "campus_it"
    PE_TEACHER = "pe_teacher"
    HEALTH_STAFF = "health_staff"
    # Reads the audit log (who read which student's health data), and nothing else.
    AUDITOR = "auditor"
    # The district PE office or health authority: aggregates over its district's schools,
    # never a student's name or id; it belongs to no school, so no school's route answers it.
    DISTRICT = "district"


DEFAULT_TOKEN_LIFETIME = timedelta(days=30)


class TokenSettings(BaseSettings):
    """How long a new API token works: CAMPUSEDGE_TOKEN_LIFETIME_DAYS (default 30)."""

    model_config = SettingsConfigDict(env_prefix="CAMPUSEDGE_TOKEN_", extra="ignore")

    lifetime_days: float = Field(default=DEFAULT_TOKEN_LIFETIME.days, gt=0, le=3650)

    @property
    def lifetime(self) -> timedelta:
        return timedelta(days=self.lifetime_days)


class Refused(StrEnum):
    """Why a token was not accepted."""

    UNKNOWN = "unknown"  # never issued, rotated away, or its user revoked
    EXPIRED = "expired"


class UserExists(KeyError):
    """A new user's id is taken."""


@dataclass(frozen=True)
class User:
    id: str
    display_name: str
    role: Role
    # The schools whose alerts, referrals and lessons this user sees; none: no school's.
    schools: frozenset[str] = field(default=frozenset())
    # A district user's district and its schools (read at sign-in); None and empty for others.
    district: str | None = None
    district_schools: frozenset[str] = field(default=frozenset())


def _digest(token: str) -> str:
    # A fast hash is enough here, unlike for passwords: a token is 192 random bits, so there
    # is no guessable space for a slow hash to protect (see docs/security.md).
    return hashlib.sha256(token.encode()).hexdigest()


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


class Users:
    """User accounts; tokens are shown once when issued, never stored in clear, and expire
    after *token_lifetime* (each new token: at `create` and `rotate`)."""

    def __init__(self, db: StateDB, token_lifetime: timedelta = DEFAULT_TOKEN_LIFETIME) -> None:
        self.db = db
        self.token_lifetime = token_lifetime

    def create(
        self,
        user_id: str,
        display_name: str,
        role: Role,
        lifetime: timedelta | None = None,
        schools: Iterable[str] = (),
        district: str | None = None,
    ) -> str:
        """A user (replacing one of the same id) and their new token. A `district` user needs
        *district* (an existing one) and has no schools; other roles have no district."""
        schools = list(schools)
        _check_district(role, district, schools)
        token = secrets.token_urlsafe(24)  # 24 bytes: 192 random bits
        expires = datetime.now(UTC) + (lifetime or self.token_lifetime)
        with self.db.transaction() as conn:
            upsert(
                conn,
                users,
                {
                    "id": user_id,
                    "display_name": display_name,
                    "role": role.value,
                    "token_sha256": _digest(token),
                    "token_expires_at": _iso(expires),
                },
                keys=["id"],
            )
            self._put_schools(conn, user_id, schools)
            conn.execute(delete(user_districts).where(user_districts.c.user_id == user_id))
            if district is not None:
                conn.execute(insert(user_districts).values(user_id=user_id, district_id=district))
        return token

    def add(
        self,
        user_id: str,
        display_name: str,
        role: Role,
        schools: Iterable[str],
        lifetime: timedelta | None = None,
    ) -> str:
        """`create`, but never over an existing user (UserExists): a new user's token."""
        schools = list(schools)
        _check_district(role, None, schools)
        token = secrets.token_urlsafe(24)
        expires = datetime.now(UTC) + (lifetime or self.token_lifetime)
        with self.db.transaction() as conn:
            if conn.execute(select(users.c.id).where(users.c.id == user_id)).first() is not None:
                raise UserExists(user_id)
            conn.execute(
                insert(users).values(
                    id=user_id,
                    display_name=display_name,
                    role=role.value,
                    token_sha256=_digest(token),
                    token_expires_at=_iso(expires),
                )
            )
            self._put_schools(conn, user_id, schools)
        return token

    def set_role(self, user_id: str, role: Role) -> None:
        """Give *user_id* another role; their token stays (KeyError if there is no such user).
        The district role is given only with a district, at `create`."""
        if role is Role.DISTRICT:
            raise ValueError("a district user is made with `create` and a district")
        with self.db.transaction() as conn:
            conn.execute(delete(user_districts).where(user_districts.c.user_id == user_id))
            changed = conn.execute(
                update(users).where(users.c.id == user_id).values(role=role.value)
            ).rowcount
        if not changed:
            raise KeyError(user_id)

    def set_schools(self, user_id: str, schools: Iterable[str]) -> None:
        """Make *schools* the user's schools (KeyError if there is no such user)."""
        schools = list(schools)
        with self.db.transaction() as conn:
            found = conn.execute(select(users.c.role).where(users.c.id == user_id)).first()
            if found is None:
                raise KeyError(user_id)
            if Role(found.role) is Role.DISTRICT and schools:
                raise ValueError("a district user reads its district's schools and has none")
            self._put_schools(conn, user_id, schools)

    @staticmethod
    def _put_schools(conn: Connection, user_id: str, schools: Iterable[str]) -> None:
        conn.execute(delete(user_schools).where(user_schools.c.user_id == user_id))
        rows = [{"user_id": user_id, "school": school} for school in sorted(set(schools))]
        if rows:
            conn.execute(user_schools.insert(), rows)

    def _schools(self, user_id: str) -> frozenset[str]:
        rows = self.db.query(select(user_schools.c.school).where(user_schools.c.user_id == user_id))
        return frozenset(r["school"] for r in rows)

    def rotate(self, user_id: str, lifetime: timedelta | None = None) -> str:
        """A new token for *user_id* (KeyError if there is none); the old one stops at once."""
        token = secrets.token_urlsafe(24)
        expires = datetime.now(UTC) + (lifetime or self.token_lifetime)
        with self.db.transaction() as conn:
            changed = conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(token_sha256=_digest(token), token_expires_at=_iso(expires))
            ).rowcount
        if not changed:
            raise KeyError(user_id)
        return token

    def verify(self, token: str, now: datetime | None = None) -> User | Refused:
        """The user *token* belongs to, or why it is refused."""
        rows = self.db.query(
            _USER.add_columns(users.c.token_expires_at).where(
                users.c.token_sha256 == _digest(token)
            )
        )
        if not rows:
            return Refused.UNKNOWN
        expires = rows[0]["token_expires_at"]
        # A row without an expiry was never given one by this code: refused, as expired.
        if expires is None or datetime.fromisoformat(expires) <= (now or datetime.now(UTC)):
            return Refused.EXPIRED
        return self._user(rows[0])

    def authenticate(self, token: str, now: datetime | None = None) -> User | None:
        found = self.verify(token, now)
        return found if isinstance(found, User) else None

    def expires_at(self, user_id: str) -> datetime | None:
        rows = self.db.query(select(users.c.token_expires_at).where(users.c.id == user_id))
        value = rows[0]["token_expires_at"] if rows else None
        return datetime.fromisoformat(value) if value else None

    def get(self, user_id: str) -> User | None:
        rows = self.db.query(_USER.where(users.c.id == user_id))
        return self._user(rows[0]) if rows else None

    def delete(self, user_id: str) -> None:
        """Revoke a user: their token stops working at once; the audit log keeps their id."""
        with self.db.transaction() as conn:
            conn.execute(delete(users).where(users.c.id == user_id))

    def all(self) -> list[User]:
        return [self._user(r) for r in self.db.query(_USER.order_by(users.c.id))]

    def _user(self, row: RowMapping) -> User:
        role = Role(row["role"])
        district: str | None = None
        their_schools: frozenset[str] = frozenset()
        if role is Role.DISTRICT:
            found = self.db.query(
                select(user_districts.c.district_id).where(user_districts.c.user_id == row["id"])
            )
            district = found[0]["district_id"] if found else None
            their_schools = frozenset(
                r["school"]
                for r in self.db.query(
                    select(district_schools.c.school).where(
                        district_schools.c.district_id == district
                    )
                )
            )
        return User(
            row["id"], row["display_name"], role, self._schools(row["id"]), district, their_schools
        )


def _check_district(role: Role, district: str | None, schools: Iterable[str]) -> None:
    # A district user reading a school's rows through a school list would defeat the point:
    # the role reads aggregates alone, so it is given no school, and every other role no district.
    if role is Role.DISTRICT and (district is None or any(True for _ in schools)):
        raise ValueError("a district user needs a district and no schools")
    if role is not Role.DISTRICT and district is not None:
        raise ValueError(f"only a district user has a district, not a {role.value} user")


_USER = select(users.c.id, users.c.display_name, users.c.role)
