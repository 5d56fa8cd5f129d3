"""Request dependencies: the running gateway, the signed-in user, role checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from gateway.auth import Role, User
from gateway.service import Gateway


def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def current_user(
    gateway: GatewayDep, authorization: Annotated[str | None, Header()] = None
) -> User:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "send 'Authorization: Bearer <token>' (campusedge gateway user add)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    user = gateway.users.authenticate(authorization[7:].strip())
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "unknown or revoked token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require(*roles: Role) -> Callable[[User], User]:
    """A dependency that lets only the given roles through."""
    allowed = frozenset(roles)

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {user.role.value} may not do this; needs one of "
                f"{', '.join(sorted(r.value for r in allowed))}",
            )
        return user

    return check


CampusIT = Annotated[User, Depends(require(Role.CAMPUS_IT))]
Teacher = Annotated[User, Depends(require(Role.PE_TEACHER))]
HealthStaff = Annotated[User, Depends(require(Role.HEALTH_STAFF))]
TeacherOrHealth = Annotated[User, Depends(require(Role.PE_TEACHER, Role.HEALTH_STAFF))]
AnyStaff = Annotated[User, Depends(require(Role.CAMPUS_IT, Role.PE_TEACHER, Role.HEALTH_STAFF))]
