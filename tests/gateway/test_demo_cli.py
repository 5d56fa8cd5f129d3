"""`campusedge demo`: one line when it cannot start; with --duration, the JSON summary last."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from campusedge.cli import main
from gateway.cli.demo import (
    lesson_line,
    lesson_plan,
    lesson_report,
    lock_workdir,
    rope_test_minute,
)


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


def test_taken_port_stops_the_demo_first(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    workdir = tmp_path / "demo"
    workdir.mkdir()
    (workdir / "keep").write_text("the demo wipes its workdir only once it can run")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        assert (
            main(["demo", "--port", str(port), "--workdir", str(workdir), "--duration", "1"]) == 2
        )
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("campusedge demo: "), captured.err
    assert f"127.0.0.1:{port}" in lines[0] and "--port" in lines[0]
    assert "Dashboard" not in captured.err + captured.out
    assert (workdir / "keep").exists()


def test_bad_environment_stops_the_demo(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CAMPUSEDGE_MQTT_KEEPALIVE_S", "forever")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert (
        main(["demo", "--port", str(port), "--workdir", str(tmp_path / "demo"), "--duration", "1"])
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith("campusedge demo: CAMPUSEDGE_MQTT_KEEPALIVE_S='forever'"), err


def test_report_of_a_simulator_that_ended_on_its_own_is_still_read() -> None:
    # The lesson can end between the demo's last look at it and the end of --duration; its
    # report then waits in the pipe and must not be taken for a missing one.
    report = {"scenario": "lesson", "edge": {"acked": 12}}
    sim = subprocess.Popen(
        [sys.executable, "-c", f"print('devices ready'); print({json.dumps(report)!r})"],
        stdout=subprocess.PIPE,
        text=True,
    )
    sim.wait(30)
    assert lesson_report(sim) == report


@pytest.mark.slow
def test_demo_with_a_duration_ends_with_the_json_summary(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "campusedge.cli",
            "demo",
            "--duration",
            "8",
            "--students",
            "3",
            "--port",
            str(port),
            "--workdir",
            str(tmp_path / "demo"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(summary) == {"published", "stored", "lost", "dead_lettered", "alerts"}
    assert summary["published"] > 0, done.stderr[-2000:]
    assert summary["stored"] >= summary["published"]
    assert summary["lost"] == 0 and summary["dead_lettered"] == 0
    assert "without its report" not in done.stderr


def test_a_second_demo_on_a_working_directory_in_use_refuses_naming_the_other(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    workdir = tmp_path / "demo"
    workdir.mkdir()
    (workdir / "state.db").write_text("the running demo's")
    held = lock_workdir(workdir)  # as the running demo holds it
    try:
        assert main(["demo", "--workdir", str(workdir), "--duration", "1", "--port", "0"]) == 2
    finally:
        held.close()
    err = capsys.readouterr().err.strip()
    assert err.startswith("campusedge demo: ") and f"pid {os.getpid()}" in err, err
    assert (workdir / "state.db").read_text() == "the running demo's"


def test_the_demo_says_when_the_rope_test_comes_and_runs_it_within_two_minutes() -> None:
    minutes, speed = lesson_plan(None)  # the real-time 45-minute lesson
    assert rope_test_minute(minutes) * 60 / speed <= 120
    assert lesson_line(0, minutes, speed).endswith("rope test in 60 s")
    assert "rope test now" in lesson_line(90, minutes, speed)
    assert lesson_line(200, minutes, speed).endswith("rope test done")
    short, _ = lesson_plan(30)  # `--duration 30`: a 1.5-minute lesson at 5x
    assert rope_test_minute(short) >= 0 and rope_test_minute(short) + 1 <= short
