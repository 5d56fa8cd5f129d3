"""Online copies of a SQLite database through its backup API, and putting one back."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.backup.archive import BackupError
from gateway.i18n import N_


def _open_existing(path: Path) -> sqlite3.Connection:
    # mode=rw: a plain connect() would create an empty database at a mistyped path, and the
    # backup would then be of nothing.
    if not path.is_file():
        raise BackupError(N_("SQLite database {path} does not exist"), path=path)
    try:
        return sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise BackupError(
            N_("cannot open SQLite database {path}: {reason}"), path=path, reason=exc
        ) from None


def schema_of(conn: sqlite3.Connection) -> dict[str, Any]:
    """What a restore compares: the tables and a digest of the schema SQL."""
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name"
    ).fetchall()
    digest = hashlib.sha256("\n".join(str(r[2]) for r in rows).encode()).hexdigest()
    return {
        "tables": sorted(r[1] for r in rows if r[0] == "table" and not r[1].startswith("sqlite_")),
        "user_version": conn.execute("PRAGMA user_version").fetchone()[0],
        "sql_sha256": digest,
    }


def copy_online(source: Path, target: Path) -> dict[str, Any]:
    """Copy *source* to *target* while the gateway writes to it; return its schema.

    One backup step of all pages: it reads inside one read transaction, which in WAL mode
    neither waits for the writer nor makes it wait, and the copy is the database as of that
    transaction's start (a stepwise copy would restart on every commit of a busy gateway).
    """
    src = _open_existing(source)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file in the archive
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise BackupError(
                    N_("the copy of {source} fails its integrity check: {check}"),
                    source=source,
                    check=check,
                )
            return schema_of(dst)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(
            N_("copying SQLite database {source} failed: {reason}"), source=source, reason=exc
        ) from None
    finally:
        src.close()


def holders(path: Path) -> list[int]:
    """Ids of processes that have *path* (or its WAL) open, read from /proc (Linux).

    Our own process counts too: nothing here has opened the target yet, and a gateway run
    in this process (an embedding program, a test) holds it like any other.
    """
    wanted = {str(path.resolve()), str(path.resolve()) + "-wal"}
    found = []
    proc = Path("/proc")
    for entry in proc.iterdir() if proc.is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue  # gone, or not ours to look at
        if _links(fds) & wanted:
            found.append(int(entry.name))
    return found


def _links(fds: list[Path]) -> set[str]:
    out = set()
    for fd in fds:
        # Closed since the listing (the listing's own descriptor, for one): not a holder.
        with contextlib.suppress(OSError):
            out.add(os.readlink(fd))
    return out


def restore_into(copy: Path, target: Path) -> Path | None:
    """Write the database *copy* into *target*; return where the previous contents were kept.

    Through the backup API into the target, not a rename: SQLite then takes the target's
    locks and deals with its WAL, so a leftover `-wal` of the old database is never replayed
    onto the restored one.
    """
    kept = None
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if target.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            kept = target.with_name(f"{target.name}.before-restore-{stamp}")
            old = _open_existing(target)
            try:
                keep = sqlite3.connect(kept)
                old.backup(keep)
                keep.close()
            finally:
                old.close()
        src = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=WAL")  # as the gateway keeps it
        finally:
            dst.close()
            src.close()
    except sqlite3.Error as exc:
        raise BackupError(
            N_("restoring into {target} failed: {reason}"), target=target, reason=exc
        ) from None
    return kept
