"""Who may manage which users: campus IT, within their own schools, never above their role."""

from __future__ import annotations

from gateway.auth import Role, User

# The roles each role may give and take away. Campus IT run the accounts of their schools'
# staff; the auditor is not among them: the audit log watches campus IT too, so its readers
# are made with the CLI by whoever runs the gateway, not by those it watches.
GRANTS: dict[Role, frozenset[Role]] = {
    Role.CAMPUS_IT: frozenset({Role.CAMPUS_IT, Role.PE_TEACHER, Role.HEALTH_STAFF}),
}


def may_grant(admin: User, role: Role) -> bool:
    """Whether *admin* may give *role* to a user."""
    return role in GRANTS.get(admin.role, frozenset())


def may_give_schools(admin: User, schools: frozenset[str]) -> bool:
    """Whether *admin* holds each of *schools* (nobody gives a school they do not hold)."""
    return schools <= admin.schools


def manages(admin: User, user: User) -> bool:
    """Whether *admin* may see and change *user*: a role they may grant, and schools all of
    which they hold. A user of no school belongs to nobody's schools: the CLI manages them."""
    return may_grant(admin, user.role) and bool(user.schools) and user.schools <= admin.schools
