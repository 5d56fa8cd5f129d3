"""Campus IT manage boxes: a command's state from queued to the box's own report, resends to a
box that comes back, and a signed model rolled out and installed over real HTTP."""

from __future__ import annotations

import base64
import shutil
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from campusedge.contract import CommandResult, DeviceState, Status
from campusedge.model_signing import signed_message
from campusedge.paths import models_dir
from campusedge.topics import DeviceKind
from edge.model_update import ModelOffer, ModelUpdateError, install
from gateway.consumers.box_commands import BoxCommandsConsumer
from tests.gateway.api.conftest import SCHOOL, Campus
from tests.gateway.api_server import serve_api


def _status(box: str, *results: CommandResult, online: bool = True) -> Status:
    return Status(
        device_id=box,
        kind=DeviceKind.EDGE,
        state=DeviceState.ONLINE if online else DeviceState.OFFLINE,
        ts=datetime.now(UTC),
        commands=list(results) or None,
    )


def _report(campus: Campus, status: Status) -> None:
    campus.gateway.commit_log.append([], [(SCHOOL, status)])
    campus.gateway.consumers.catch_up()


def test_a_command_is_queued_sent_and_settled_by_the_boxs_report(campus: Campus) -> None:
    it = campus.auth("it1")
    campus.gateway.fleet.enrol_box(SCHOOL, "gym-box", ["ropes"])
    sent = campus.client.post(
        "/api/fleet/commands",
        headers=it,
        json={"school": SCHOOL, "box": "gym-box", "name": "rope", "body": {"action": "end"}},
    )
    assert sent.status_code == 201, sent.text
    command = sent.json()
    # No broker in this test: kept queued, for the box's next status.
    assert command["state"] == "queued" and command["id"].startswith("cmd-")
    _report(
        campus,
        _status(
            "gym-box",
            CommandResult(
                id=command["id"],
                name="rope",
                ok=False,
                detail="no rope base station",
                at=datetime.now(UTC),
            ),
        ),
    )
    listed = campus.client.get("/api/fleet/commands", headers=it, params={"school": SCHOOL})
    [settled] = listed.json()
    assert (settled["state"], settled["detail"]) == ("failed", "no rope base station")
    assert campus.gateway.audit.entries(user_id="it1")[0].action == "send_command"
    refused = campus.client.post(
        "/api/fleet/commands",
        headers=it,
        json={"school": SCHOOL, "box": "gym-box", "name": "rope", "body": {"command_id": "x"}},
    )
    assert refused.status_code == 422
    unknown = campus.client.post(
        "/api/fleet/commands",
        headers=it,
        json={"school": SCHOOL, "box": "no-box", "name": "rope", "body": {}},
    )
    assert unknown.status_code == 404


def test_a_box_back_online_is_sent_what_it_has_not_reported_on(campus: Campus) -> None:
    gw = campus.gateway
    queued = gw.box_commands.queue(SCHOOL, "gym-box", "config", {"config_version": "9"}, "it1")
    done = gw.box_commands.queue(SCHOOL, "gym-box", "rope", {"action": "end"}, "it1")
    gw.box_commands.settle(
        SCHOOL, "gym-box", [CommandResult(id=done.id, name="rope", ok=True, at=datetime.now(UTC))]
    )
    published: list[tuple[str, bytes]] = []
    consumer = BoxCommandsConsumer(gw.box_commands, lambda t, p: published.append((t, p)) or True)
    assert consumer.resend(SCHOOL, "gym-box") == 1
    assert published == [(f"campus/{SCHOOL}/edge/gym-box/cmd/config", queued.payload())]
    assert b'"command_id": "' + queued.id.encode() in published[0][1]
    # Just sent: not again at the next status, only after RESEND_AFTER without a result.
    assert consumer.resend(SCHOOL, "gym-box") == 0
    assert gw.box_commands.get(SCHOOL, queued.id).state == "sent"  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _pinned(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def test_a_signed_model_is_rolled_out_to_a_share_and_installed_from_the_gateway(
    campus: Campus, tmp_path: Path, signing_key: Ed25519PrivateKey
) -> None:
    from edge.model_update import public_key

    gw = campus.gateway
    for box in ("box-a", "box-b", "box-c"):
        gw.fleet.enrol_box(SCHOOL, box, [])
    source = tmp_path / "pose_landmark_full.onnx"
    shutil.copyfile(models_dir() / "pose_landmark_full.onnx", source)
    import hashlib

    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    signature = base64.b64encode(signing_key.sign(signed_message(source.name, sha))).decode()
    gw.models.add(source, signature)
    server = serve_api(gw)
    try:
        it = campus.auth("it1")
        first = httpx.post(
            f"{server.base}/api/fleet/rollouts",
            headers=it,
            json={"school": SCHOOL, "sha256": sha, "percent": 30},
        ).json()
        assert first["boxes"] == 3 and len(first["included"]) == 1
        wider = httpx.post(
            f"{server.base}/api/fleet/rollouts",
            headers=it,
            json={"school": SCHOOL, "sha256": sha, "percent": 60},
        ).json()
        # A wider share keeps the boxes it had and adds one.
        assert wider["included"][:1] == first["included"] and len(wider["queued"]) == 1
        body = first["queued"][0]["body"]
        # A person's token is refused; a wrong download token is told nothing.
        file_url = f"{server.base}/api/fleet/models/{sha}/file"
        assert httpx.get(file_url, headers=it, params={"token": "x" * 32}).status_code == 403
        assert httpx.get(file_url, params={"token": "x" * 32}).status_code == 404
        # The box's side, over real HTTP: download, checksum, signature, self-test, rename.
        installed = install(
            ModelOffer.parse(body), public_key(_pinned(signing_key)), tmp_path / "box"
        )
        assert installed.name == f"pose_landmark_full-{sha[:12]}.onnx"
        assert hashlib.sha256(installed.read_bytes()).hexdigest() == sha
        # Signed by another key: refused, nothing left behind.
        other = Ed25519PrivateKey.generate()
        with pytest.raises(ModelUpdateError, match="signature does not match"):
            install(ModelOffer.parse(body), public_key(_pinned(other)), tmp_path / "other")
        assert not (tmp_path / "other").exists() or not any((tmp_path / "other").iterdir())
    finally:
        server.stop()


def test_a_model_that_fails_its_self_test_or_checksum_is_never_switched_to(
    tmp_path: Path, signing_key: Ed25519PrivateKey
) -> None:
    import hashlib

    from edge.model_update import public_key

    junk = b"not an onnx model at all"
    sha = hashlib.sha256(junk).hexdigest()
    signature = base64.b64encode(signing_key.sign(signed_message("pose.onnx", sha))).decode()
    offer = ModelOffer.parse(
        {"file": "pose.onnx", "sha256": sha, "signature": signature, "url": "http://gw/m"}
    )
    key = public_key(_pinned(signing_key))
    folder = tmp_path / "models"
    with pytest.raises(ModelUpdateError, match="self-test"):
        install(offer, key, folder, download=lambda url: junk)
    assert list(folder.iterdir()) == []  # the tested file was removed
    with pytest.raises(ModelUpdateError, match="checksum mismatch"):
        install(offer, key, folder, download=lambda url: junk + b"!")
    for bad, why in (
        ({"file": "../x.onnx"}, "plain .onnx"),
        ({"sha256": "abc"}, "64 lowercase hex"),
        ({"url": "file:///etc/passwd"}, "http"),
        ({"signature": "***"}, "base64"),
    ):
        good = {"file": "pose.onnx", "sha256": sha, "signature": signature, "url": "http://gw/m"}
        with pytest.raises(ModelUpdateError, match=why):
            ModelOffer.parse({**good, **bad})
