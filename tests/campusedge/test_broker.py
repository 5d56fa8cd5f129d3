"""The Mosquitto we configure: logins only (`allow_anonymous false`), and bounded."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from campusedge.broker import MosquittoProcess, find_mosquitto, free_port, wait_for_port
from campusedge.contract import MAX_PAYLOAD_BYTES
from tests.conftest import mqtt_settings_for
from tests.gateway.mqtt_helpers import Collector, publish_all
from tests.mqtt_login import login_answer
from tests.services import MQTT_PASSWORD, MQTT_USER, missing

pytestmark = pytest.mark.mosquitto


def test_test_broker_refuses_anonymous_and_wrong_logins(mosquitto: MosquittoProcess) -> None:
    config = mosquitto.config_path.read_text().splitlines()
    assert "allow_anonymous false" in config
    assert login_answer(mosquitto.host, mosquitto.port) == "Not authorized"
    assert login_answer(mosquitto.host, mosquitto.port, MQTT_USER, "wrong") == "Not authorized"
    assert login_answer(mosquitto.host, mosquitto.port, MQTT_USER, MQTT_PASSWORD) == "Success"


def test_generated_config_refuses_payloads_over_the_gateways_limit(tmp_path: Path) -> None:
    """The broker we generate drops a payload the gateway would only dead-letter, before it
    is queued or retained; one at the limit still goes through."""
    if find_mosquitto() is None:
        missing("mosquitto")
    broker = MosquittoProcess(data_dir=tmp_path / "broker", users={MQTT_USER: MQTT_PASSWORD})
    broker.start()
    settings = mqtt_settings_for(broker)
    try:
        config = broker.config_path.read_text().splitlines()
        assert f"message_size_limit {MAX_PAYLOAD_BYTES}" in config
        assert "persistent_client_expiration 7d" in config
        assert "max_queued_bytes 536870912" in config
        collector = Collector(settings, "campus/s1/#")
        try:
            at_limit = b"a" * MAX_PAYLOAD_BYTES
            over = b"b" * (MAX_PAYLOAD_BYTES + 1)
            publish_all(settings, [("campus/s1/x/over", over), ("campus/s1/x/at", at_limit)])
            # Retained, the oversize one would otherwise stay on the broker for every newcomer.
            publish_all(settings, [("campus/s1/x/over-retained", over)], retain=True)
            publish_all(settings, [("campus/s1/x/end", b"end")])
            got = collector.wait_for(2)
            time.sleep(0.3)  # anything else would have come before the last one
        finally:
            collector.close()
        assert [t for t, _ in collector.messages] == ["campus/s1/x/at", "campus/s1/x/end"]
        assert collector.messages[0][1] == at_limit and got[0][1] == at_limit
        late = Collector(settings, "campus/s1/#")  # retained messages come on subscribing
        try:
            time.sleep(0.5)
            assert late.messages == []
        finally:
            late.close()
    finally:
        broker.stop()


def test_broker_command_writes_the_limits_it_is_given(tmp_path: Path) -> None:
    if find_mosquitto() is None:
        missing("mosquitto")
    port = free_port()
    data = tmp_path / "broker"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "campusedge.cli",
            "broker",
            "--port",
            str(port),
            "--data-dir",
            str(data),
            "--max-queued-messages",
            "5000",
            "--max-queued-bytes",
            "1000000",
            "--session-expiry",
            "2d",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_port("127.0.0.1", port, 30)
        config = (data / "mosquitto.conf").read_text().splitlines()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    for line in (
        "max_queued_messages 5000",
        "max_queued_bytes 1000000",
        "persistent_client_expiration 2d",
        f"message_size_limit {MAX_PAYLOAD_BYTES}",
    ):
        assert line in config


def test_broker_command_refuses_a_bad_session_expiry(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "campusedge.cli", "broker", "--session-expiry", "7 days"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "expected a number and h, d, w, m or y" in proc.stderr


def test_the_broker_log_is_rotated_and_reopened(tmp_path: Path) -> None:
    if find_mosquitto() is None:
        missing("mosquitto")
    broker = MosquittoProcess(data_dir=tmp_path / "broker", users={MQTT_USER: MQTT_PASSWORD})
    broker.start()
    try:
        settings = mqtt_settings_for(broker)
        for _ in range(5):  # each login is a notice line in the log
            publish_all(settings, [("campus/s1/x/y", b"1")])
        size = broker.log_path.stat().st_size
        assert size > 0
        # Not past the limit yet (the broker may still be noting the last disconnection).
        assert not broker.rotate_log(max_bytes=size + 10_000)
        assert broker.rotate_log(max_bytes=10)
        rotated = broker.log_path.with_name("mosquitto.log.1")
        assert rotated.stat().st_size >= size

        def reopened() -> bool:
            publish_all(settings, [("campus/s1/x/y", b"1")])
            return broker.log_path.exists() and broker.log_path.stat().st_size > 0

        deadline = time.monotonic() + 10
        while not reopened():
            assert time.monotonic() < deadline, "Mosquitto did not reopen its log"
            time.sleep(0.1)
        assert broker.running()
        assert broker.rotate_log(max_bytes=10)
        assert rotated.exists() and broker.log_path.with_name("mosquitto.log.2").exists()
    finally:
        broker.stop()
