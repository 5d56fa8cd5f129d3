"""Credentials files and TLS files: anything missing or unsafe stops a client at start, named."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from campusedge.cli import main
from campusedge.credentials import CredentialsError, check_tls_files, load_credentials
from campusedge.mqtt_client import make_client
from campusedge.settings import MqttSettings
from gateway.cli.common import add_mqtt_arguments, mqtt_from_args
from gateway.fleet.ca import CampusCA
from gateway.service import GatewayStartError


def _credentials(folder: Path, mode: int = 0o600, **extra: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "credentials.json"
    fields = {"username": "box/s1/b1", "password": "pw", **extra}
    path.write_text(json.dumps(fields))
    path.chmod(mode)
    return path


def test_paths_are_taken_relative_to_the_file(tmp_path: Path) -> None:
    path = _credentials(tmp_path / "b1", tls_ca="ca.crt", port=8883)
    fields = load_credentials(path)
    assert fields["tls_ca"] == str(tmp_path / "b1" / "ca.crt")
    assert fields["username"] == "box/s1/b1" and fields["port"] == 8883


def test_a_credentials_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = _credentials(tmp_path, mode=0o644)
    with pytest.raises(CredentialsError, match=f"{path}: readable by other users.*chmod 600"):
        load_credentials(path)


def test_a_missing_credentials_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match=str(tmp_path / "nope.json")):
        load_credentials(tmp_path / "nope.json")


def test_a_missing_certificate_is_named_before_connecting(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("x")
    settings = MqttSettings(
        tls_ca=str(ca), tls_cert=str(tmp_path / "gone.crt"), tls_key=str(tmp_path / "k.key")
    )
    with pytest.raises(CredentialsError, match=f"{tmp_path / 'gone.crt'}: tls_cert file"):
        make_client(settings, "c1")
    with pytest.raises(CredentialsError, match="no tls_ca"):
        check_tls_files(settings.model_copy(update={"tls_ca": None}))


def test_edge_run_stops_on_an_unsafe_credentials_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")  # the line is compared in English
    path = _credentials(tmp_path / "creds", mode=0o640)
    box = tmp_path / "box.yaml"
    box.write_text(
        "kind: edge_box\nedge_id: b1\nschool: s1\nmqtt_credentials: creds/credentials.json\n"
        "devices:\n  - id: g1\n    model: temp_gate_ce_tg100\n"
        "    transport: {type: serial, port: /dev/null}\n"
    )
    assert main(["edge", "run", "--config", str(box), "--duration", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"campusedge edge run: {path}: readable by other users (mode 640); chmod 600 {path}"
    )


def test_the_gateway_stops_on_a_missing_key(tmp_path: Path) -> None:
    folder = tmp_path / "gw"
    folder.mkdir()
    (folder / "ca.crt").write_text("x")
    (folder / "client.crt").write_text("x")
    path = _credentials(folder, tls_ca="ca.crt", tls_cert="client.crt", tls_key="client.key")
    parser = argparse.ArgumentParser()
    add_mqtt_arguments(parser)
    args = parser.parse_args(["--mqtt-credentials", str(path)])
    with pytest.raises(GatewayStartError, match=f"{folder / 'client.key'}: tls_key file"):
        mqtt_from_args(args)


def test_a_key_that_is_not_the_certificates_is_named(tmp_path: Path) -> None:
    ca = CampusCA.open(tmp_path / "ca")
    key_a, cert_a = ca.issue("a")
    key_b, _ = ca.issue("b")
    for name, data in (("a.crt", cert_a), ("b.key", key_b), ("not-ca.crt", b"junk")):
        (tmp_path / name).write_bytes(data)
    (tmp_path / "b.key").chmod(0o600)
    good = MqttSettings(
        tls_ca=str(ca.cert_path), tls_cert=str(tmp_path / "a.crt"), tls_key=str(tmp_path / "b.key")
    )
    with pytest.raises(CredentialsError, match=f"{tmp_path / 'a.crt'}: not a PEM certificate"):
        check_tls_files(good)
    with pytest.raises(CredentialsError, match=f"{tmp_path / 'not-ca.crt'}: not a PEM CA"):
        check_tls_files(good.model_copy(update={"tls_ca": str(tmp_path / "not-ca.crt")}))
    (tmp_path / "b.key").write_bytes(key_a)
    check_tls_files(good)
