"""`campusedge backup`: an online copy of the gateway's state (and SQLite readings) to a file."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from campusedge.words import error_line, error_text
from gateway.backup import postgres, sqlite_copy
from gateway.backup.archive import BackupError, Member, write_atomically
from gateway.backup.retention import backup_name, prune
from gateway.backup.targets import readings_target, state_target
from gateway.cli.language import gettext as _

PROG = "campusedge backup"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, metavar="FILE", help=_("write the backup to FILE"))
    where.add_argument(
        "--out-dir",
        type=Path,
        metavar="DIR",
        help=_("write campusedge-backup-<UTC time>.tar.gz into DIR (for scheduled backups)"),
    )
    parser.add_argument(
        "--keep",
        type=int,
        metavar="N",
        help=_("with --out-dir: then delete all but the newest N backups this command named there"),
    )
    parser.add_argument(
        "--state-db",
        metavar="PATH_OR_URL",
        help=_(
            "the state database: a SQLite file or a postgresql:// URL "
            "(default CAMPUSEDGE_STATE_DB, as for `gateway run`)"
        ),
    )
    parser.add_argument("--store-url", help=_("the readings store (default CAMPUSEDGE_STORE_URL)"))
    parser.add_argument(
        "--db", type=Path, help=_("SQLite readings file (shortcut for --store-url)")
    )
    parser.add_argument(
        "--no-readings",
        action="store_true",
        help=_("copy the state only, not a SQLite readings store"),
    )


def run(args: argparse.Namespace) -> int:
    if args.keep is not None and (args.out_dir is None or args.keep < 1):
        print(
            _("{prog}: --keep needs --out-dir and a count of at least 1").format(prog=PROG),
            file=sys.stderr,
        )
        return 2
    out = args.out if args.out is not None else args.out_dir / backup_name()
    try:
        manifest = take(out, args)
    except BackupError as exc:
        print(error_line(PROG, error_text(exc)), file=sys.stderr)
        return 1
    except OSError as exc:
        # A full or read-only backup disk: the temporary file is gone, no backup is claimed.
        print(
            _("{prog}: cannot write {path}: {reason}").format(
                prog=PROG, path=out, reason=exc.strerror or exc
            ),
            file=sys.stderr,
        )
        return 1
    parts = _(", ").join(
        _("{role} ({kind}, {size} bytes)").format(role=role, kind=meta["kind"], size=meta["bytes"])
        for role, meta in manifest["members"].items()
    )
    print(_("backup written: {path}: {parts}").format(path=out, parts=parts))
    for note in manifest["notes"]:
        print(_("note: {note}").format(note=note))
    if args.keep is not None:
        for old in prune(args.out_dir, args.keep):
            print(_("removed old backup {path}").format(path=old))
    return 0


def take(out: Path, args: argparse.Namespace) -> dict[str, Any]:
    state = state_target(args.state_db)
    readings = None if args.no_readings else readings_target(args.store_url, args.db)
    notes = []
    if readings is None and not args.no_readings:
        notes.append(
            "the readings store is not SQLite: back it up with its own tools "
            "(InfluxDB: influxd backup -portable)"
        )
    # The copies are made beside the output, not in /tmp: a state database can be larger
    # than a tmpfs, and the folder of the output must have the room anyway.
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".campusedge-backup-", dir=out.parent) as tmp:
        folder = Path(tmp)
        members = []
        if state.kind == "postgresql":
            assert state.url is not None
            copy = folder / "state.pgdump"
            members.append(Member("state", "postgresql", copy, postgres.dump(state.url, copy)))
        else:
            assert state.path is not None
            copy = folder / "state.db"
            members.append(
                Member("state", "sqlite", copy, sqlite_copy.copy_online(state.path, copy))
            )
        if readings is not None:
            assert readings.path is not None
            copy = folder / "readings.db"
            schema = sqlite_copy.copy_online(readings.path, copy)
            members.append(Member("readings", "sqlite", copy, schema))
        return write_atomically(out, members, notes)
