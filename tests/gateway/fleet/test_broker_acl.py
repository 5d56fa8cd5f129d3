"""The generated Mosquitto config on a real Mosquitto: logins, ACLs, TLS and revocation."""

from __future__ import annotations

import argparse
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from campusedge.broker import find_mosquitto, free_port, wait_for_port
from campusedge.cli import main
from campusedge.credentials import load_credentials
from campusedge.settings import MqttSettings
from gateway.cli.common import add_mqtt_arguments, mqtt_from_args
from gateway.fleet.ca import CampusCA
from simulators.links import StreamServer
from tests.gateway.fleet.peer import Peer, connect_answer, wait_until
from tests.services import missing

SCHOOL = "s1"


@dataclass
class Campus:
    root: Path
    state_db: Path
    broker_dir: Path
    port: int
    tls_port: int
    proc: subprocess.Popen[bytes]

    def provision(self, *args: str) -> None:
        assert main(["provision", *args, "--state-db", str(self.state_db)]) == 0

    def settings(self, who: str, *, tls: bool = False) -> MqttSettings:
        """Settings from *who*'s credentials file: plain on loopback, or TLS with the cert."""
        fields = load_credentials(self.root / who / "credentials.json")
        if not tls:
            for name in ("tls_ca", "tls_cert", "tls_key"):
                fields.pop(name)
        fields.update(host="127.0.0.1", port=self.tls_port if tls else self.port)
        return MqttSettings.model_validate(fields)


@pytest.fixture(scope="module")
def campus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campus]:
    binary = find_mosquitto()
    if binary is None:
        missing("mosquitto")
    assert binary is not None
    root = tmp_path_factory.mktemp("campus")
    state_db = root / "state" / "state.db"
    port, tls_port = free_port(), free_port()

    def provision(*args: str) -> None:
        assert main(["provision", *args, "--state-db", str(state_db)]) == 0

    provision(
        "box", "--school", SCHOOL, "--box", "boxa", "--device", "hr-a", "--out", f"{root}/boxa",
        "--broker-host", "127.0.0.1", "--broker-port", str(tls_port),
    )  # fmt: skip
    provision(
        "box", "--school", SCHOOL, "--box", "boxb", "--device", "hr-b", "--out", f"{root}/boxb"
    )
    provision("gateway", "--worker", "w1", "--out", f"{root}/gw")
    broker_dir = root / "broker"
    provision(
        "broker", "--out", str(broker_dir), "--port", str(port), "--tls-port", str(tls_port),
        "--tls-bind", "127.0.0.1", "--server-name", "127.0.0.1",
    )  # fmt: skip
    proc = subprocess.Popen(
        [binary, "-c", str(broker_dir / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port, 10)
        wait_for_port("127.0.0.1", tls_port, 10)
        yield Campus(root, state_db, broker_dir, port, tls_port, proc)
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def gateway(campus: Campus) -> Iterator[Peer]:
    peer = Peer(campus.settings("gw"), "gw-test")
    assert str(peer.subscribe("campus/#")) == "Granted QoS 1"
    yield peer
    peer.close()


@pytest.fixture
def box_a(campus: Campus) -> Iterator[Peer]:
    peer = Peer(campus.settings("boxa"), "boxa")
    assert peer.connect_reason == "Success"
    yield peer
    peer.close()


def test_anonymous_and_wrong_password_are_refused(campus: Campus) -> None:
    anonymous = MqttSettings(host="127.0.0.1", port=campus.port)
    assert connect_answer(anonymous, "anon") == "Not authorized"
    wrong = campus.settings("boxa").model_copy(update={"password": SecretStr("guess")})
    assert connect_answer(wrong, "wrong") == "Not authorized"


def test_the_gateway_receives_a_box_reading(box_a: Peer, gateway: Peer) -> None:
    topic = f"campus/{SCHOOL}/hr_band/hr-a/reading"
    assert str(box_a.publish(topic, b"72")) == "Success"
    gateway.wait_for(topic, b"72")


def test_a_box_cannot_publish_as_another_box_device(box_a: Peer, gateway: Peer) -> None:
    forged = f"campus/{SCHOOL}/temp_gate/hr-b/event"
    assert str(box_a.publish(forged, b"fever")) == "Not authorized"
    # Messages of one client arrive in order: once this is in, the forged one is not coming.
    own = f"campus/{SCHOOL}/hr_band/hr-a/status"
    box_a.publish(own, b"after")
    gateway.wait_for(own, b"after")
    assert (forged, b"fever") not in gateway.messages


def test_a_box_cannot_write_commands_or_alerts(box_a: Peer, gateway: Peer) -> None:
    for topic in (
        f"campus/{SCHOOL}/edge/boxb/cmd/config",
        f"campus/{SCHOOL}/edge/boxa/cmd/config",
        f"campus/{SCHOOL}/alert/high/fever",
        f"campus/{SCHOOL}/deadletter",
    ):
        assert str(box_a.publish(topic, b"forged")) == "Not authorized", topic
    own = f"campus/{SCHOOL}/edge/boxa/status"
    box_a.publish(own, b"online")
    gateway.wait_for(own, b"online")
    assert [t for t, p in gateway.messages if p == b"forged"] == []


def test_a_box_reads_only_its_own_commands(campus: Campus, box_a: Peer, gateway: Peer) -> None:
    # Mosquitto 2.0 grants such subscriptions and then checks every message against the
    # box's read rules, so what counts is that nothing of another's arrives.
    for wide in ("#", f"campus/{SCHOOL}/alert/#", f"campus/{SCHOOL}/edge/boxb/cmd/#"):
        box_a.subscribe(wide)
    assert str(box_a.subscribe(f"campus/{SCHOOL}/edge/boxa/cmd/#")) == "Granted QoS 1"
    box_b = Peer(campus.settings("boxb"), "boxb")
    try:
        box_b.publish(f"campus/{SCHOOL}/hr_band/hr-b/reading", b"b")
    finally:
        box_b.close()
    gateway.publish(f"campus/{SCHOOL}/alert/high/fever", b"alert")
    gateway.publish(f"campus/{SCHOOL}/edge/boxb/cmd/config", b"for-b")
    # The stored watermark is retained and the gateway's alone to write; the box must get it.
    stored = f"campus/{SCHOOL}/edge/boxa/cmd/stored"
    assert str(gateway.publish(stored, b"42", retain=True)) == "Success"
    box_a.wait_for(stored, b"42")
    assert {topic for topic, _ in box_a.messages} == {stored}


def test_tls_with_a_campus_certificate(campus: Campus, gateway: Peer) -> None:
    box = Peer(campus.settings("boxa", tls=True), "boxa-tls")
    try:
        topic = f"campus/{SCHOOL}/hr_band/hr-a/reading"
        assert str(box.publish(topic, b"tls")) == "Success"
        gateway.wait_for(topic, b"tls")
    finally:
        box.close()


def test_tls_refuses_another_ca_and_no_certificate(campus: Campus, tmp_path: Path) -> None:
    foreign = CampusCA.open(tmp_path / "foreign-ca")
    key, cert = foreign.issue("box/s1/boxa")
    (tmp_path / "c.key").write_bytes(key)
    (tmp_path / "c.key").chmod(0o600)
    (tmp_path / "c.crt").write_bytes(cert)
    good = campus.settings("boxa", tls=True)
    forged = good.model_copy(
        update={"tls_cert": str(tmp_path / "c.crt"), "tls_key": str(tmp_path / "c.key")}
    )
    assert connect_answer(forged, "foreign").startswith(("closed before CONNACK", "refused"))
    bare = good.model_copy(update={"tls_cert": None, "tls_key": None})
    assert connect_answer(bare, "no-cert").startswith(("closed before CONNACK", "refused"))
    log = (campus.broker_dir / "mosquitto.log").read_text()
    assert "certificate verify failed" in log
    assert "peer did not return a certificate" in log
    # The plain port is not reachable from outside the host.
    assert f"listener {campus.port} 127.0.0.1" in (campus.broker_dir / "mosquitto.conf").read_text()


def test_revocation_and_rotation_take_effect_without_restart(campus: Campus) -> None:
    boxc = f"{campus.root}/boxc"
    campus.provision("box", "--school", SCHOOL, "--box", "boxc", "--device", "hr-c", "--out", boxc)
    old = campus.settings("boxc")
    # The new box was added to the running broker by a reload, not a restart.
    assert wait_until(lambda: connect_answer(old, "boxc") == "Success")
    campus.provision("rotate", "--school", SCHOOL, "--box", "boxc", "--out", boxc)
    new = campus.settings("boxc")
    assert wait_until(lambda: connect_answer(old, "boxc-old") == "Not authorized")
    assert connect_answer(new, "boxc-new") == "Success"
    connected = Peer(new, "boxc-connected")
    try:
        campus.provision("revoke", "--school", SCHOOL, "--box", "boxc")
        assert wait_until(lambda: connect_answer(new, "boxc-revoked") == "Not authorized")
        # A session open at the reload is closed too (Mosquitto re-checks connected clients).
        assert connected.disconnected.wait(10)
    finally:
        connected.close()
    assert campus.proc.poll() is None


def test_an_edge_box_runs_over_tls_from_its_credentials_file(
    campus: Campus, gateway: Peer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gate = StreamServer()
    box = tmp_path / "box.yaml"
    box.write_text(
        f"kind: edge_box\nedge_id: boxa\nschool: {SCHOOL}\n"
        f"mqtt_credentials: {campus.root / 'boxa' / 'credentials.json'}\ndevices:\n"
        "  - id: hr-a\n    model: temp_gate_ce_tg200\n"
        f"    transport: {{type: tcp, host: 127.0.0.1, port: {gate.port}}}\n"
    )
    try:
        argv = ["edge", "run", "--config", str(box), "--buffer", str(tmp_path / "b.db")]
        assert main([*argv, "--duration", "1.5"]) == 0
    finally:
        gate.close()
    stats = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert stats["connects"] == 1
    # Its birth message came in over the TLS listener, the only one the file names.
    states = [
        json.loads(p)["state"]
        for t, p in gateway.messages
        if t == f"campus/{SCHOOL}/edge/boxa/status"
    ]
    assert "online" in states, gateway.messages
    assert json.loads((campus.root / "boxa" / "credentials.json").read_text())["port"] == (
        campus.tls_port
    )


def test_the_gateway_reads_over_tls_from_its_credentials_file(campus: Campus, box_a: Peer) -> None:
    parser = argparse.ArgumentParser()
    add_mqtt_arguments(parser)
    creds = str(campus.root / "gw" / "credentials.json")
    args = ["--mqtt-credentials", creds, "--mqtt-host", "127.0.0.1"]
    settings = mqtt_from_args(parser.parse_args([*args, "--mqtt-port", str(campus.tls_port)]))
    assert settings.tls_cert is not None and settings.username == "gateway/w1"
    gateway = Peer(settings, "gw-tls")
    try:
        assert str(gateway.subscribe(f"campus/{SCHOOL}/+/+/reading")) == "Granted QoS 1"
        topic = f"campus/{SCHOOL}/hr_band/hr-a/reading"
        box_a.publish(topic, b"to-tls-gateway")
        gateway.wait_for(topic, b"to-tls-gateway")
    finally:
        gateway.close()
