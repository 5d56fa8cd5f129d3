"""`campusedge gateway user`: add a user with a role and print their API token once."""

from __future__ import annotations

import argparse
from pathlib import Path

from gateway.auth import Role, Users
from gateway.state import StateDB


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["add", "rotate", "revoke", "list"],
                        help="add a user; rotate their token; revoke their access; list users")
    parser.add_argument("user_id", nargs="?")
    parser.add_argument("--name", help="display name")
    parser.add_argument("--role", choices=[r.value for r in Role])
    parser.add_argument("--state-db", type=Path, default=Path("var/campusedge/state.db"))


def run(args: argparse.Namespace) -> int:
    args.state_db.parent.mkdir(parents=True, exist_ok=True)
    users = Users(StateDB(args.state_db))
    if args.action == "list":
        for user in users.all():
            print(f"{user.id}\t{user.role.value}\t{user.display_name}")
        return 0
    if not args.user_id:
        print("campusedge gateway user add|rotate|revoke USER_ID [--role ROLE] [--name NAME]")
        return 2
    existing = users.get(args.user_id)
    if args.action == "revoke":
        if existing is None:
            print(f"no user {args.user_id!r}")
            return 1
        users.delete(args.user_id)
        print(f"revoked {args.user_id}")
        return 0
    if args.action == "add":
        if existing is not None:
            print(f"user {args.user_id!r} exists (role {existing.role.value}); use `rotate` for "
                  "a new token, or `revoke` first to change the role")
            return 1
        if not args.role:
            print("campusedge gateway user add USER_ID --role ROLE [--name NAME]")
            return 2
        print(users.create(args.user_id, args.name or args.user_id, Role(args.role)))
        return 0
    if existing is None:
        print(f"no user {args.user_id!r}")
        return 1
    print(users.create(existing.id, existing.display_name, existing.role))
    return 0
