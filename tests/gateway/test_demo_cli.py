"""`campusedge demo` stops with one line when it cannot start, before starting anything."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from campusedge.cli import main


def test_taken_port_stops_the_demo_first(capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    workdir.mkdir()
    (workdir / "keep").write_text("the demo wipes its workdir only once it can run")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        assert main(["demo", "--port", str(port), "--workdir", str(workdir),
                     "--duration", "1"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("campusedge demo: "), captured.err
    assert f"127.0.0.1:{port}" in lines[0] and "--port" in lines[0]
    assert "Dashboard" not in captured.err + captured.out
    assert (workdir / "keep").exists()


def test_bad_environment_stops_the_demo(capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CAMPUSEDGE_MQTT_KEEPALIVE_S", "forever")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["demo", "--port", str(port), "--workdir", str(tmp_path / "demo"),
                 "--duration", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("campusedge demo: CAMPUSEDGE_MQTT_KEEPALIVE_S='forever'"), err
