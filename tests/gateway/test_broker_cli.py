"""`campusedge broker`: Mosquitto when installed, else (or with --embedded) amqtt; logins only."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from campusedge.broker import find_mosquitto, free_port, wait_for_port
from tests.mqtt_login import login_answer
from tests.services import missing


@pytest.mark.parametrize(
    "embedded", [pytest.param(False, marks=pytest.mark.mosquitto), True], ids=["mosquitto", "amqtt"]
)
def test_broker_command_serves_logins_only_and_stops_on_sigterm(
    tmp_path: Path, embedded: bool
) -> None:
    if not embedded and find_mosquitto() is None:
        missing("mosquitto")
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "campusedge.cli",
            "broker",
            "--port",
            str(port),
            "--user",
            "ann:pw-1",
            "--data-dir",
            str(tmp_path / "broker"),
            *(["--embedded"] if embedded else []),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_port("127.0.0.1", port, 30)
        assert login_answer("127.0.0.1", port) == "Not authorized"
        assert login_answer("127.0.0.1", port, "ann", "nope") == "Not authorized"
        assert login_answer("127.0.0.1", port, "ann", "pw-1") == "Success"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    said = "in-process amqtt broker" if embedded else "mosquitto listening"
    assert said in out, out
