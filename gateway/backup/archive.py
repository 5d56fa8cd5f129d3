"""The backup file: a gzip'd tar holding `manifest.json` first, then the copied databases.

The manifest says what the file holds (which database, of which kind, the schema it had),
when it was taken and by which version of campusedge, with a SHA-256 per member, so that a
restore can refuse a damaged or foreign file before it touches anything.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from campusedge import __version__
from campusedge.words import Shown
from gateway.i18n import N_

FORMAT = "campusedge-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


class BackupError(Shown):
    """A backup or restore cannot go on; the message says what and what to do."""


@dataclass(frozen=True)
class Member:
    """One database in a backup: its role (`state`, `readings`), kind and the file holding it."""

    role: str
    kind: str  # "sqlite" or "postgresql"
    path: Path  # the copy on disk, while the backup is being written or after extraction
    schema: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.role}.{'pgdump' if self.kind == 'postgresql' else 'db'}"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_for(members: list[Member], notes: list[str]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "campusedge_version": __version__,
        "host": socket.gethostname(),
        "members": {
            m.role: {
                "kind": m.kind,
                "file": m.name,
                "bytes": m.path.stat().st_size,
                "sha256": sha256(m.path),
                "schema": m.schema,
            }
            for m in members
        },
        "notes": notes,
    }


def write_atomically(out: Path, members: list[Member], notes: list[str]) -> dict[str, Any]:
    """Write the backup to a temporary file beside *out*, fsync it, then rename it to *out*.

    A crash or a full disk part-way leaves at most a `.tmp` file, never a truncated backup
    under the final name.
    """
    manifest = manifest_for(members, notes)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw:
            # Level 6, not tarfile's 9: a 58 MB readings file took 1.4 s instead of 4.4 s
            # for an archive 8 % larger.
            with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
                data = json.dumps(manifest, indent=2).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(data)
                info.mtime = int(datetime.now(UTC).timestamp())
                info.mode = 0o600
                tar.addfile(info, io.BytesIO(data))
                for m in members:
                    tar.add(m.path, arcname=m.name, recursive=False)
            raw.flush()
            os.fsync(raw.fileno())
        # Backups hold the roster: readable by the owner only.
        tmp.chmod(0o600)
        tmp.replace(out)
        _fsync_dir(out.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return manifest


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_manifest(file: Path) -> dict[str, Any]:
    """The manifest of a backup file; BackupError if it is not one this version can read."""
    try:
        with tarfile.open(file, mode="r:gz") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST:
                raise BackupError(
                    N_("{file}: not a campusedge backup (no {manifest} first)"),
                    file=file,
                    manifest=MANIFEST,
                )
            f = tar.extractfile(first)
            assert f is not None
            manifest: dict[str, Any] = json.loads(f.read())
    except (tarfile.TarError, OSError, EOFError, json.JSONDecodeError) as exc:
        raise BackupError(
            N_("{file}: not a readable campusedge backup ({reason})"), file=file, reason=exc
        ) from None
    if manifest.get("format") != FORMAT:
        raise BackupError(
            N_("{file}: not a campusedge backup (format {format!r})"),
            file=file,
            format=manifest.get("format"),
        )
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            N_(
                "{file}: backup format version {found!r}; this campusedge ({version}) reads "
                "version {readable}"
            ),
            file=file,
            found=manifest.get("format_version"),
            version=__version__,
            readable=FORMAT_VERSION,
        )
    return manifest


def extract(file: Path, folder: Path) -> tuple[dict[str, Any], list[Member]]:
    """Unpack the databases of *file* into *folder*, each checked against its SHA-256."""
    manifest = read_manifest(file)
    members = []
    with tarfile.open(file, mode="r:gz") as tar:
        for role, meta in manifest["members"].items():
            name = str(meta["file"])
            try:
                info = tar.getmember(name)
            except KeyError:
                raise BackupError(
                    N_("{file}: the manifest lists {name} but the file lacks it"),
                    file=file,
                    name=name,
                ) from None
            if not info.isfile() or "/" in name or name.startswith("."):
                raise BackupError(
                    N_("{file}: member {name!r} is not a plain file"), file=file, name=name
                )
            src = tar.extractfile(info)
            assert src is not None
            target = folder / name
            with target.open("wb") as dst:
                while block := src.read(1 << 20):
                    dst.write(block)
            if sha256(target) != meta["sha256"]:
                raise BackupError(
                    N_("{file}: {name} does not match its checksum; the backup is damaged"),
                    file=file,
                    name=name,
                )
            members.append(Member(role, str(meta["kind"]), target, dict(meta.get("schema", {}))))
    return manifest, members
