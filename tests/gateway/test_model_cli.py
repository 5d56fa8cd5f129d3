"""`campusedge gateway model`: a key made away from the gateway signs a model it then offers."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from campusedge.cli import main
from campusedge.model_signing import signed_message


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


def test_keygen_sign_add_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "signing.pem"
    assert main(["gateway", "model", "keygen", "--out", str(key)]) == 0
    pinned = capsys.readouterr().out.split("model_signing_key: ")[1].split()[0]
    assert key.stat().st_mode & 0o077 == 0  # the private key is the owner's alone
    assert main(["gateway", "model", "keygen", "--out", str(key)]) == 2  # never overwritten
    capsys.readouterr()
    model = tmp_path / "pose_v2.onnx"
    model.write_bytes(b"model bytes")
    assert main(["gateway", "model", "sign", str(model), "--key", str(key)]) == 0
    signature = capsys.readouterr().out.strip()
    sha = hashlib.sha256(b"model bytes").hexdigest()
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(pinned))
    public.verify(base64.b64decode(signature), signed_message("pose_v2.onnx", sha))
    store = tmp_path / "store"
    add = ["gateway", "model", "add", str(model), "--signature", signature, "--store", str(store)]
    assert main(add) == 0
    assert main(["gateway", "model", "list", "--store", str(store)]) == 0
    assert f"{sha}" in capsys.readouterr().out
    assert main([*add[:-4], "--signature", "nope", "--store", str(store)]) == 2
    assert "signature" in capsys.readouterr().err
