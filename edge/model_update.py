"""A new pose model from the gateway: fetched, checked, switched to atomically, tested, or refused.

The `model` command names the file, its sha256, an ed25519 signature and where to fetch it.
The box downloads it, checks the sha256 and the signature against the key pinned in its own
config (so neither a wrong URL nor the gateway itself can give it a model nobody signed),
writes it under a name made from its hash with a rename (a half-written file is never seen),
and loads it on a built-in image: the model must return the 33 body keypoints of the drawn
person. Only then do the stations switch to it; on any failure the file is removed and the
stations keep counting with the model they had.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from campusedge.model_signing import FILE_NAME, signed_message
from edge.pe.model import NUM_KEYPOINTS, ModelError, PoseModel
from edge.pe.synthetic import draw_jack
from edge.pe.tracker import PoseTracker

MAX_MODEL_BYTES = 64 * 1024 * 1024
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ModelUpdateError(ValueError):
    """The offered model was not installed; the message says why (the box reports it)."""


@dataclass(frozen=True)
class ModelOffer:
    """The body of a `model` command."""

    file: str
    sha256: str
    signature: bytes
    url: str

    @classmethod
    def parse(cls, body: dict[str, object]) -> ModelOffer:
        file, sha, sig, url = (body.get(k) for k in ("file", "sha256", "signature", "url"))
        if not isinstance(file, str) or not FILE_NAME.fullmatch(file):
            raise ModelUpdateError("file must be a plain .onnx file name")
        if not isinstance(sha, str) or not SHA256.fullmatch(sha):
            raise ModelUpdateError("sha256 must be 64 lowercase hex digits")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ModelUpdateError("url must be an http(s) URL")
        try:
            signature = base64.b64decode(str(sig), validate=True)
        except (binascii.Error, ValueError):
            raise ModelUpdateError("signature must be base64") from None
        return cls(file, sha, signature, url)


def public_key(text: str) -> Ed25519PublicKey:
    """The box config's pinned key: the raw 32-byte ed25519 public key, base64."""
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise ModelUpdateError(f"the pinned model signing key is not usable: {exc}") from None


def fetch(url: str) -> bytes:
    """The file at *url*, refusing anything larger than MAX_MODEL_BYTES."""
    try:
        with httpx.stream("GET", url, timeout=30.0, follow_redirects=False) as response:
            if response.status_code != 200:
                raise ModelUpdateError(f"download answered {response.status_code}")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_MODEL_BYTES:
                    raise ModelUpdateError(f"download larger than {MAX_MODEL_BYTES} bytes")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise ModelUpdateError(f"download failed: {exc}") from None
    return b"".join(chunks)


def self_test(path: Path) -> None:
    """Load the model and find the drawn person: 33 keypoints with the person present."""
    try:
        model = PoseModel(path, threads=1)
    except ModelError as exc:
        raise ModelUpdateError(f"self-test: {exc}") from None
    pose = None
    tracker = PoseTracker(model, smooth=False, use_detector=False)
    for _ in range(3):  # the first frame searches; the next ones follow the person found
        pose = tracker.process(draw_jack(256, 256, 0.25), 1 / 30) or pose
    if pose is None or pose.keypoints.shape[0] != NUM_KEYPOINTS:
        raise ModelUpdateError("self-test: the model found no person on the built-in image")


def install(
    offer: ModelOffer,
    key: Ed25519PublicKey,
    folder: Path,
    *,
    download: Callable[[str], bytes] = fetch,
    test: Callable[[Path], None] = self_test,
) -> Path:
    """The offered model, checked and tested, at its final path in *folder*."""
    data = download(offer.url)
    got = hashlib.sha256(data).hexdigest()
    if got != offer.sha256:
        raise ModelUpdateError(f"checksum mismatch: the file's sha256 is {got[:12]}…")
    try:
        key.verify(offer.signature, signed_message(offer.file, offer.sha256))
    except InvalidSignature:
        raise ModelUpdateError("signature does not match the pinned key") from None
    folder.mkdir(parents=True, exist_ok=True)
    stem = offer.file.removesuffix(".onnx")
    final = folder / f"{stem}-{offer.sha256[:12]}.onnx"
    part = folder / f".{final.name}.part"
    with part.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        test(part)
    except ModelUpdateError:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, final)  # atomic: a reader sees the old name or the whole new file
    return final
