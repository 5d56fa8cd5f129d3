"""Pose models the gateway offers its boxes: each file kept by its sha256 with its signature.

Models are signed away from the gateway (`campusedge provision sign-model`, with a key that
never needs to be on it) and added with their signature (`campusedge gateway model add`); a
box installs only what its pinned key verifies (edge/model_update.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from campusedge.words import N_, Shown
from gateway.fleet.provisioning import default_ca_dir

FILE_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


class ModelStoreError(Shown, ValueError):
    """A model cannot be added as asked; the message says why."""


@dataclass(frozen=True)
class StoredModel:
    file: str  # the name the boxes install it under (with its hash added)
    sha256: str
    signature: str  # base64 ed25519 signature of edge.model_update.signed_message
    size: int


def default_model_store(state_db: str) -> Path:
    """`models/` beside the campus CA folder (beside a SQLite state database)."""
    return default_ca_dir(state_db).parent / "models"


class ModelStore:
    """A folder of `<sha256>.onnx` files, each with `<sha256>.json` naming and signing it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def add(self, source: Path, signature: str, file: str | None = None) -> StoredModel:
        name = file or source.name
        if not name.endswith(".onnx") or not set(name) <= FILE_NAME_CHARS or len(name) > 80:
            raise ModelStoreError(
                N_("model file name {name!r}: letters, digits, _ . - and .onnx"), name=name
            )
        try:
            if len(base64.b64decode(signature, validate=True)) != 64:
                raise ValueError("not 64 bytes")
        except (binascii.Error, ValueError) as exc:
            raise ModelStoreError(
                N_("the signature is not a base64 ed25519 signature: {reason}"), reason=exc
            ) from None
        if not source.is_file():
            raise ModelStoreError(N_("{path} is not a file"), path=source)
        digest = hashlib.sha256()
        with source.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        sha = digest.hexdigest()
        self.folder.mkdir(parents=True, exist_ok=True)
        part = self.folder / f".{sha}.part"
        shutil.copyfile(source, part)
        os.replace(part, self.folder / f"{sha}.onnx")
        meta = {"file": name, "sha256": sha, "signature": signature}
        (self.folder / f"{sha}.json").write_text(json.dumps(meta) + "\n")
        found = self.get(sha)
        assert found is not None
        return found

    def get(self, sha256: str) -> StoredModel | None:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            return None
        meta_path, path = self.folder / f"{sha256}.json", self.folder / f"{sha256}.onnx"
        if not meta_path.is_file() or not path.is_file():
            return None
        meta = json.loads(meta_path.read_text())
        return StoredModel(meta["file"], sha256, meta["signature"], path.stat().st_size)

    def path(self, sha256: str) -> Path:
        return self.folder / f"{sha256}.onnx"

    def all(self) -> list[StoredModel]:
        if not self.folder.is_dir():
            return []
        found = (self.get(p.stem) for p in sorted(self.folder.glob("*.json")))
        return [m for m in found if m is not None]
