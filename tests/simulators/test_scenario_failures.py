"""A scenario whose agent cannot deliver says so and exits non-zero; Ctrl-C stops it promptly."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import pytest

from campusedge.broker import MosquittoProcess, free_port
from campusedge.cli import main
from tests.services import MQTT_PASSWORD, MQTT_USER


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


pytestmark = pytest.mark.mosquitto


def _login(broker: MosquittoProcess, password: str = MQTT_PASSWORD) -> list[str]:
    return [
        "--mqtt-host",
        broker.host,
        "--mqtt-port",
        str(broker.port),
        "--mqtt-username",
        MQTT_USER,
        "--mqtt-password",
        password,
    ]


def _folders(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("campusedge-gate-*"))


@pytest.fixture
def own_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Scenario temp folders go here, where the test can see what is left."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_a_wrong_password_is_one_line_exit_2_and_leaves_no_folder(
    own_tempdir: Path, mosquitto: MosquittoProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    start = time.monotonic()
    rc = main(["simulate", "gate", "--students", "5", *_login(mosquitto, "wrong")])
    out, err = capsys.readouterr()
    assert rc == 2 and time.monotonic() - start < 15
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "refused the login" in err and "Not authorized" in err
    assert _folders(own_tempdir) == []


def test_an_unreachable_broker_is_named(
    own_tempdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    rc = main(
        [
            "simulate",
            "screening",
            "--students",
            "2",
            "--mqtt-host",
            "127.0.0.1",
            "--mqtt-port",
            str(port),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2
    assert f"127.0.0.1:{port}" in err and "Connection refused" in err


def test_a_clean_run_removes_its_temp_folder(
    own_tempdir: Path, mosquitto: MosquittoProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "simulate",
            "gate",
            "--students",
            "5",
            "--window-minutes",
            "0.1",
            "--speed",
            "3",
            "--school",
            "sim-clean",
            # No gateway behind this broker to say what it stored.
            "--delete-on",
            "broker",
            *_login(mosquitto),
        ]
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0
    assert summary["edge"]["messages"] == 5 and summary["edge"]["buffered"] == 0
    assert _folders(own_tempdir) == []


def _simulate_in_child(tmp: Path, argv: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "TMPDIR": str(tmp)}
    return subprocess.Popen(
        [sys.executable, "-m", "campusedge.cli", "simulate", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for_agent(tmp: Path, timeout_s: float = 30) -> Path:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        folders = _folders(tmp)
        if folders and (folders[0] / "buffer.db").exists():
            return folders[0]
        time.sleep(0.1)
    raise AssertionError("the scenario's edge agent did not start")


@pytest.mark.slow
def test_ctrl_c_stops_promptly_and_reports_interrupted(
    tmp_path: Path, mosquitto: MosquittoProcess
) -> None:
    child = _simulate_in_child(
        tmp_path, ["gate", "--students", "1000", "--school", "sim-int", *_login(mosquitto)]
    )
    _wait_for_agent(tmp_path)
    time.sleep(2)
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert time.monotonic() - sent < 20, err
    assert child.returncode == 130, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["interrupted"] is True and summary["wall_s"] < 60
    assert summary["edge"]["buffered"] == 0  # the broker was there: the agent sent it all
    assert _folders(tmp_path) == []


@pytest.mark.slow
def test_a_broker_lost_mid_run_is_said_and_the_messages_are_kept(
    tmp_path: Path, own_mosquitto: MosquittoProcess
) -> None:
    child = _simulate_in_child(
        tmp_path,
        [
            "gate",
            "--students",
            "40",
            "--window-minutes",
            "0.25",
            "--school",
            "sim-lost",
            *_login(own_mosquitto),
        ],
    )
    folder = _wait_for_agent(tmp_path)
    time.sleep(3)
    own_mosquitto.stop()
    out, err = child.communicate(timeout=90)
    assert child.returncode == 1, err
    assert "edge agent: MQTT broker" in err
    assert f"kept {folder}" in err and "unsent" in err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["edge"]["buffered"] > 0
    with sqlite3.connect(folder / "buffer.db") as db:
        kept = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    assert kept == summary["edge"]["buffered"]


def _no_edge_child(tmp: Path) -> tuple[subprocess.Popen[str], Path]:
    """`simulate gate --no-edge` waiting for an agent started by hand, and its folder."""
    child = _simulate_in_child(tmp, ["gate", "--students", "5", "--no-edge"])
    end = time.monotonic() + 30
    while time.monotonic() < end:
        folders = _folders(tmp)
        if folders and (folders[0] / "box.yaml").exists():
            return child, folders[0]
        time.sleep(0.1)
    child.kill()
    raise AssertionError("the scenario wrote no box config")


@pytest.mark.slow
def test_no_edge_stopped_while_waiting_reports_its_real_time_and_cleans_up(tmp_path: Path) -> None:
    child, folder = _no_edge_child(tmp_path)
    time.sleep(2.5)  # nobody starts an agent; then the run is given up (a timeout's SIGTERM)
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["interrupted"] is True
    assert summary["wall_s"] >= 2.5  # it waited that long, though the timeline never ran
    assert summary["timeline_wall_s"] < 1
    assert not folder.exists()  # no agent ever used it: nothing unsent to keep


@pytest.mark.slow
def test_no_edge_keeps_the_folder_when_the_agent_left_messages(tmp_path: Path) -> None:
    from edge.buffer import _SCHEMA

    child, folder = _no_edge_child(tmp_path)
    # What an agent started by hand on this folder leaves when it could not send everything.
    with closing(sqlite3.connect(folder / "buffer.db")) as db, db:
        db.executescript(_SCHEMA)
        db.execute(
            "INSERT INTO outbox(device_id, seq, topic, payload, is_event) "
            "VALUES ('gate', 0, 'campus/s/temp_gate/gate/event', x'7b7d', 1)"
        )
    child.send_signal(signal.SIGTERM)
    _out, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    assert folder.exists() and f"kept {folder}" in err
