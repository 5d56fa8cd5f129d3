"""`campusedge gateway model`: signing keys, signed models, and the models offered to boxes.

`keygen` and `sign` belong on the machine that holds the signing key (not the gateway): the
gateway keeps only models and their signatures, so a gateway taken over cannot give the boxes
a model of its own; `add` and `list` work on the gateway's model folder.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from campusedge.model_signing import FILE_NAME, signed_message
from campusedge.words import N_, error_line, error_text
from gateway.cli.common import load_settings, start_failed
from gateway.cli.language import gettext as _
from gateway.fleet.model_store import ModelStore, ModelStoreError, default_model_store
from gateway.service import GatewaySettings, GatewayStartError

PROG = "campusedge gateway model"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    steps = parser.add_subparsers(dest="step", required=True)
    keygen = steps.add_parser("keygen", help=_("make an ed25519 model signing key"))
    keygen.add_argument("--out", type=Path, required=True, help=_("private key file to write"))
    sign = steps.add_parser("sign", help=_("sign a model file (prints the base64 signature)"))
    sign.add_argument("model", type=Path)
    sign.add_argument("--key", type=Path, required=True, help=_("private key from keygen"))
    sign.add_argument("--name", help=_("file name the boxes install it as (default: its own)"))
    add = steps.add_parser("add", help=_("offer a signed model to the boxes"))
    add.add_argument("model", type=Path)
    add.add_argument("--signature", required=True, help=_("base64 signature from `sign`"))
    add.add_argument("--name", help=_("file name the boxes install it as (default: its own)"))
    add.add_argument(
        "--store", type=Path, help=_("model folder (default: $CAMPUSEDGE_MODEL_STORE)")
    )
    lst = steps.add_parser("list", help=_("models offered to the boxes"))
    lst.add_argument(
        "--store", type=Path, help=_("model folder (default: $CAMPUSEDGE_MODEL_STORE)")
    )


def _store(given: Path | None) -> ModelStore:
    if given is not None:
        return ModelStore(given)
    settings = load_settings(GatewaySettings, {})
    return ModelStore(settings.model_store or default_model_store(settings.state_db))


def run(args: argparse.Namespace) -> int:
    try:
        if args.step == "keygen":
            return _keygen(args.out)
        if args.step == "sign":
            return _sign(args.model, args.key, args.name)
        store = _store(args.store)
    except GatewayStartError as exc:
        return start_failed(PROG, exc)
    except (OSError, ValueError) as exc:
        print(error_line(f"{PROG} {args.step}", error_text(exc)), file=sys.stderr)
        return 1
    if args.step == "add":
        try:
            model = store.add(args.model, args.signature, args.name)
        except ModelStoreError as exc:
            print(error_line(f"{PROG} add", error_text(exc)), file=sys.stderr)
            return 2
        print(
            _("{file} {sha256} offered from {folder}").format(
                file=model.file, sha256=model.sha256, folder=store.folder
            )
        )
        return 0
    for model in store.all():
        print(f"{model.sha256}  {model.size:>10}  {model.file}")
    return 0


def _keygen(out: Path) -> int:
    if out.exists():
        print(
            _("{prog}: {path} exists; not overwritten").format(prog=f"{PROG} keygen", path=out),
            file=sys.stderr,
        )
        return 2
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    print(_("wrote {path} (keep it off the gateway)").format(path=out))
    print(f"model_signing_key: {base64.b64encode(public).decode()}   # for each box's config")
    return 0


def _sign(model: Path, key_file: Path, name: str | None) -> int:
    file = name or model.name
    if not FILE_NAME.fullmatch(file):
        raise ModelStoreError(
            N_("model file name {name!r}: letters, digits, _ . - and .onnx"), name=file
        )
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ModelStoreError(N_("{path} is not an ed25519 private key"), path=key_file)
    sha = hashlib.sha256(model.read_bytes()).hexdigest()
    print(base64.b64encode(key.sign(signed_message(file, sha))).decode())
    return 0
