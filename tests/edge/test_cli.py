"""`campusedge edge run`: config errors stop it before connecting; a run prints its counters."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from campusedge.broker import MosquittoProcess, free_port
from campusedge.cli import main
from simulators.links import StreamServer
from tests.services import MQTT_PASSWORD, MQTT_USER


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


def test_a_bad_box_config_is_named_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    box = tmp_path / "box.yaml"
    box.write_text(
        "kind: edge_box\nedge_id: b1\nschool: s1\ndevices:\n"
        "  - id: g1\n    model: temp_gate_ce_tg100\n"
        "    transport: {type: serial, port: /dev/null}\n"
        "    config: {forehead_offset_c: 9}\n"
    )
    assert main(["edge", "run", "--config", str(box)]) == 2
    err = capsys.readouterr().err
    assert "box.yaml" in err and "g1" in err and "forehead_offset_c" in err


@pytest.mark.mosquitto
def test_run_for_a_while_and_report(
    tmp_path: Path, mosquitto: MosquittoProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    gate = StreamServer()
    box = tmp_path / "box.yaml"
    box.write_text(
        "kind: edge_box\nedge_id: b2\nschool: cli-school\ndevices:\n"
        "  - id: g2\n    model: temp_gate_ce_tg200\n"
        f"    transport: {{type: tcp, host: 127.0.0.1, port: {gate.port}}}\n"
    )
    stats = tmp_path / "stats.json"
    rc = main(
        [
            "edge",
            "run",
            "--config",
            str(box),
            "--buffer",
            str(tmp_path / "b.db"),
            "--mqtt-host",
            mosquitto.host,
            "--mqtt-port",
            str(mosquitto.port),
            "--mqtt-username",
            MQTT_USER,
            "--mqtt-password",
            MQTT_PASSWORD,
            "--duration",
            "1.5",
            "--stats-out",
            str(stats),
        ]
    )
    gate.close()
    assert rc == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == json.loads(stats.read_text())
    assert printed["connects"] == 1 and printed["messages"] == 0


@pytest.mark.parametrize("case", ["folder_is_a_file", "buffer_is_a_folder", "not_sqlite"])
def test_a_buffer_that_cannot_be_opened_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    box = tmp_path / "box.yaml"
    box.write_text(
        "kind: edge_box\nedge_id: b3\nschool: s1\ndevices:\n"
        "  - id: g3\n    model: temp_gate_ce_tg100\n"
        "    transport: {type: serial, port: /dev/null}\n"
    )
    if case == "folder_is_a_file":
        (tmp_path / "plain").write_text("not a folder")
        buffer = tmp_path / "plain" / "lib" / "b3.db"
    elif case == "buffer_is_a_folder":
        buffer = tmp_path / "b3.db"
        buffer.mkdir()
    else:
        buffer = tmp_path / "b3.db"
        buffer.write_bytes(b"this is no SQLite file, " * 200)
    rc = main(["edge", "run", "--config", str(box), "--buffer", str(buffer), "--duration", "1"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"campusedge edge run: cannot open the buffer {buffer}: ")
    assert err.endswith("(use --buffer PATH or create the folder)")


def _stopped_run(tmp: Path, after_stop: str, after_run: str) -> tuple[int, float, str]:
    """`edge run` in a process of its own, its run replaced by one that waits for the stop
    signal and then does *after_stop*; the command then does *after_run*. Stopped by SIGTERM:
    (exit status, seconds from the signal to the end, stderr)."""
    box = tmp / "box.yaml"
    box.write_text(
        "kind: edge_box\nedge_id: b4\nschool: s1\ndevices:\n"
        "  - id: g4\n    model: temp_gate_ce_tg100\n"
        f"    transport: {{type: serial, port: {tmp / 'no-tty'}}}\n"
    )
    code = textwrap.dedent(
        f"""
        import argparse, sys, time
        import edge.cli.run as command
        from edge.agent import EdgeAgent, Stats

        def stop_then(self, duration_s=None, drain_s=10.0):
            print("running", flush=True)
            while not self.stop_event.is_set():
                time.sleep(0.05)
            {after_stop}
            return Stats()

        EdgeAgent.run = stop_then
        command.STOP_GRACE_S = 1.0
        parser = argparse.ArgumentParser()
        command.add_arguments(parser)
        args = parser.parse_args(
            ["--config", {str(box)!r}, "--buffer", {str(tmp / "b4.db")!r},
             "--mqtt-port", "{free_port()}", "--drain", "0.5"]
        )
        code = command.run(args)
        {after_run}
        sys.exit(code)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "running"
        stopped = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        took = time.monotonic() - stopped
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, took, err


def test_a_stop_that_hangs_ends_the_process_with_every_threads_stack(tmp_path: Path) -> None:
    # A stop that never ends would leave the box's process for ever when nobody follows the
    # SIGTERM with a SIGKILL: a parent-death signal, a script.
    code, took, err = _stopped_run(tmp_path, "time.sleep(120)", "")
    assert code == 1
    assert took < 20, took
    assert "Timeout (0:00:01.500000)!" in err and "stop_then" in err, err


def test_a_stop_in_time_leaves_nothing_to_end_the_process_later(tmp_path: Path) -> None:
    # The process goes on after the command (as a test running it in its own process would).
    code, _took, err = _stopped_run(tmp_path, "", "time.sleep(3)")
    assert code == 0, err
    assert "Timeout" not in err


def test_the_commands_signal_handlers_go_with_it(tmp_path: Path) -> None:
    # Run in this process, the command leaves this process's handlers as it found them.
    box = tmp_path / "box.yaml"
    box.write_text(
        "kind: edge_box\nedge_id: b5\nschool: s1\ndevices:\n"
        "  - id: g5\n    model: temp_gate_ce_tg100\n"
        f"    transport: {{type: serial, port: {tmp_path / 'no-tty'}}}\n"
    )
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    args = [
        *("edge", "run", "--config", str(box), "--buffer", str(tmp_path / "b5.db")),
        *("--mqtt-port", str(free_port()), "--duration", "0.3", "--drain", "0"),
    ]
    assert main(args) == 0
    assert {sig: signal.getsignal(sig) for sig in before} == before
