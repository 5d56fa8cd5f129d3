"""`campusedge restore FILE`: put a backup's state (and SQLite readings) back."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from campusedge import __version__
from campusedge.words import error_line, error_text
from gateway.backup import postgres, sqlite_copy
from gateway.backup.archive import BackupError, Member, extract, read_manifest
from gateway.backup.targets import Target, readings_target, state_target
from gateway.cli.language import gettext as _
from gateway.i18n import N_

PROG = "campusedge restore"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help=_("a file written by `campusedge backup`"))
    parser.add_argument(
        "--state-db",
        metavar="PATH_OR_URL",
        help=_(
            "where to restore the state: a SQLite file or a postgresql:// URL "
            "(default CAMPUSEDGE_STATE_DB)"
        ),
    )
    parser.add_argument("--store-url", help=_("the readings store (default CAMPUSEDGE_STORE_URL)"))
    parser.add_argument(
        "--db", type=Path, help=_("SQLite readings file (shortcut for --store-url)")
    )
    parser.add_argument(
        "--only", choices=["state", "readings"], help=_("restore one part of the backup only")
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help=_("restore even while another process (a running gateway) has the database open"),
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help=_("verify the file and print its manifest; change nothing"),
    )


def run(args: argparse.Namespace) -> int:
    try:
        if args.check:
            manifest = read_manifest(args.file)
            with tempfile.TemporaryDirectory() as tmp:
                extract(args.file, Path(tmp))  # verifies every checksum
            print(
                f"{args.file}: a good backup of {', '.join(manifest['members'])}, taken "
                f"{manifest['created_at']} by campusedge {manifest['campusedge_version']}"
            )
            return 0
        return restore(args)
    except BackupError as exc:
        print(error_line(PROG, error_text(exc)), file=sys.stderr)
        return 1


def restore(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        raise BackupError(N_("{file}: no such file"), file=args.file)
    manifest = read_manifest(args.file)
    targets: dict[str, Target | None] = {
        "state": state_target(args.state_db),
        "readings": readings_target(args.store_url, args.db),
    }
    wanted = [r for r in manifest["members"] if args.only in (None, r)]
    if not wanted:
        raise BackupError(
            N_("{file} holds no {part} ({parts})"),
            file=args.file,
            part=args.only,
            parts=", ".join(manifest["members"]),
        )
    # Every check before anything is written: a refusal leaves everything as it was.
    for role in wanted:
        _check(role, manifest["members"][role]["kind"], targets[role], args.force)
    # Extracted beside the state file, which has room for it, rather than in a small /tmp.
    state = targets["state"]
    room = state.path.parent if state is not None and state.path is not None else None
    if room is not None:
        room.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".campusedge-restore-", dir=room) as tmp:
        _manifest, members = extract(args.file, Path(tmp))
        for member in members:
            if member.role in wanted:
                target = targets[member.role]
                assert target is not None
                print(_put_back(member, target))
    if manifest["campusedge_version"] != __version__:
        print(
            _(
                "note: the backup was taken by campusedge {taken_by}, this is {version}: "
                "the gateway brings the schema up to date when it starts"
            ).format(taken_by=manifest["campusedge_version"], version=__version__)
        )
    print(
        _(
            "restored {parts} from {file} (taken {taken_at} by campusedge {taken_by}); "
            "start the gateway (restart it, if it ran)"
        ).format(
            parts=_(", ").join(wanted),
            file=args.file,
            taken_at=manifest["created_at"],
            taken_by=manifest["campusedge_version"],
        )
    )
    return 0


def _check(role: str, kind: str, target: Target | None, force: bool) -> None:
    if target is None:
        raise BackupError(
            N_(
                "the backup's {part} is a SQLite file but the store is not SQLite; give "
                "--db FILE (or --store-url sqlite:///FILE) to restore it to a file, or "
                "--only state"
            ),
            part=role,
        )
    if target.kind != kind:
        if kind == "postgresql":
            raise BackupError(
                N_(
                    "the backup's {part} is {kind}, the target is {target}: give --state-db "
                    "with a postgresql:// URL"
                ),
                part=role,
                kind=kind,
                target=target.kind,
            )
        raise BackupError(
            N_(
                "the backup's {part} is {kind}, the target is {target}: give --state-db with a file"
            ),
            part=role,
            kind=kind,
            target=target.kind,
        )
    if force:
        return
    if target.kind == "postgresql":
        assert target.url is not None
        others = postgres.other_sessions(target.url)
        if others:
            raise BackupError(
                N_(
                    "{url} has {count} other connection(s), a running gateway's perhaps: "
                    "stop the gateway first (systemctl stop campusedge-gateway), or give --force"
                ),
                url=postgres.redact(target.url),
                count=others,
            )
        return
    assert target.path is not None
    pids = sqlite_copy.holders(target.path)
    if pids:
        raise BackupError(
            N_(
                "{path} is open by process {pids} (a running gateway?): stop the gateway "
                "first (systemctl stop campusedge-gateway), or give --force"
            ),
            path=target.path,
            pids=", ".join(map(str, pids)),
        )


def _put_back(member: Member, target: Target) -> str:
    if target.kind == "postgresql":
        assert target.url is not None
        postgres.restore(member.path, target.url)
        return _("{part}: restored into {where}").format(
            part=member.role, where=postgres.redact(target.url)
        )
    assert target.path is not None
    kept = sqlite_copy.restore_into(member.path, target.path)
    if kept:
        return _("{part}: restored into {where}; its previous contents are in {kept}").format(
            part=member.role, where=target.path, kept=kept
        )
    return _("{part}: restored into {where}").format(part=member.role, where=target.path)
