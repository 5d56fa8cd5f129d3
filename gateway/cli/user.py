"""`campusedge gateway user`: add a user with a role and print their API token once."""

from __future__ import annotations

import argparse
from pathlib import Path

from gateway.auth import Role, Users
from gateway.state import StateDB


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["add", "list"])
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
    if not args.user_id or not args.role:
        print("campusedge gateway user add USER_ID --role ROLE [--name NAME]")
        return 2
    token = users.create(args.user_id, args.name or args.user_id, Role(args.role))
    print(token)
    return 0
