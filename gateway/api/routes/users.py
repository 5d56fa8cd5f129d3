"""Campus IT manage the accounts of their schools' staff: add, rotate, revoke, role, schools.

A new or rotated token is in the answer once and stored only as a hash. Campus IT see and
change only users all of whose schools they hold, give only roles they may grant
(gateway.user_rules) and only their own schools; every change is in the audit log.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import AuditDep, CampusIT, UsersDep, check_school
from gateway.api.refusals import Refusal
from gateway.auth import Role, User, UserExists, Users, check_user_id
from gateway.i18n import N_
from gateway.user_rules import manages, may_grant

router = APIRouter(prefix="/api/users", tags=["users"])

SUBJECT = "user"


class UserPublic(BaseModel):
    id: str
    display_name: str
    role: Role
    schools: list[str]
    token_expires_at: datetime | None


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64, description="letters, digits and . _ @ -")
    display_name: str | None = Field(
        default=None, max_length=100, description="as staff see it (default: the id)"
    )
    role: Role
    schools: list[str] = Field(min_length=1, max_length=100)


class UserUpdate(BaseModel):
    """Only the fields sent change."""

    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    schools: list[str] | None = Field(default=None, min_length=1, max_length=100)


class NewToken(BaseModel):
    """The token, shown only in this answer: the gateway keeps its hash alone."""

    user: UserPublic
    token: str


def _public(users: Users, user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        display_name=user.display_name,
        role=user.role,
        schools=sorted(user.schools),
        token_expires_at=users.expires_at(user.id),
    )


def _managed(users: Users, admin: User, user_id: str) -> User:
    """The user, if *admin* manages them; else 404, as for a user that does not exist (another
    school's staff are not told of)."""
    found = users.get(user_id)
    if found is None or not manages(admin, found):
        raise Refusal(status.HTTP_404_NOT_FOUND, N_("no user {user_id!r}"), user_id=user_id)
    return found


def _check_grant(admin: User, role: Role | None, schools: list[str] | None) -> None:
    for school in schools or ():
        check_school(admin, school)
    if role is not None and not may_grant(admin, role):
        raise Refusal(
            status.HTTP_403_FORBIDDEN,
            N_("role: {admin_role} may not give the role {role}"),
            admin_role=admin.role.value,
            role=role.value,
        )


@router.get("", response_model=list[UserPublic])
def list_users(users: UsersDep, admin: CampusIT) -> list[UserPublic]:
    """The users this campus IT user manages: staff all of whose schools they hold."""
    return [_public(users, u) for u in users.all() if manages(admin, u)]


@router.post("", status_code=201, response_model=NewToken)
def add_user(body: UserCreate, users: UsersDep, audit: AuditDep, admin: CampusIT) -> NewToken:
    """A new user of some of the caller's schools, with a role the caller may grant; their
    token is in this answer only."""
    _check_grant(admin, body.role, body.schools)
    try:
        check_user_id(body.id)
    except ValueError:
        raise Refusal(
            422,
            N_(
                "id: {user_id!r} is not a valid user id: use 1-64 characters from "
                "A-Z a-z 0-9 . _ @ -, starting with a letter or digit (no spaces)"
            ),
            user_id=body.id,
        ) from None
    name = (body.display_name or "").strip() or body.id
    try:
        token = users.add(body.id, name, body.role, body.schools)
    except UserExists:
        # Said alike whoever holds the id: an id is a login name, not another school's data.
        raise Refusal(409, N_("id: user {user_id!r} exists already"), user_id=body.id) from None
    detail = f"role={body.role.value} schools={','.join(sorted(set(body.schools)))}"
    audit.record(admin, "add_user", SUBJECT, body.id, detail)
    user = users.get(body.id)
    assert user is not None
    return NewToken(user=_public(users, user), token=token)


@router.post("/{user_id}/rotate", response_model=NewToken)
def rotate_token(user_id: str, users: UsersDep, audit: AuditDep, admin: CampusIT) -> NewToken:
    """A new token for the user; the old one stops working at once."""
    user = _managed(users, admin, user_id)
    token = users.rotate(user.id)
    audit.record(admin, "rotate_token", SUBJECT, user.id)
    return NewToken(user=_public(users, user), token=token)


@router.patch("/{user_id}", response_model=UserPublic)
def update_user(
    user_id: str, body: UserUpdate, users: UsersDep, audit: AuditDep, admin: CampusIT
) -> UserPublic:
    """Another role or other schools (the list replaces the user's); the token stays."""
    user = _managed(users, admin, user_id)
    _check_grant(admin, body.role, body.schools)
    if body.role is not None and body.role is not user.role and user.id == admin.id:
        # Nobody locks themselves out of this page: another campus IT user changes it.
        raise Refusal(409, N_("role: you cannot change your own role"))
    changes = []
    if body.role is not None and body.role is not user.role:
        users.set_role(user.id, body.role)
        changes.append(f"role={body.role.value}")
    if body.schools is not None and set(body.schools) != user.schools:
        users.set_schools(user.id, body.schools)
        changes.append(f"schools={','.join(sorted(set(body.schools)))}")
    if changes:
        audit.record(admin, "change_user", SUBJECT, user.id, " ".join(changes))
    changed = users.get(user.id)
    assert changed is not None
    return _public(users, changed)


@router.delete("/{user_id}", status_code=204)
def revoke_user(user_id: str, users: UsersDep, audit: AuditDep, admin: CampusIT) -> None:
    """Revoke the user: their token stops working at once; the audit log keeps their id."""
    user = _managed(users, admin, user_id)
    if user.id == admin.id:
        raise Refusal(409, N_("you cannot revoke your own access: another campus IT user can"))
    users.delete(user.id)
    audit.record(admin, "revoke_user", SUBJECT, user.id, f"role={user.role.value}")
