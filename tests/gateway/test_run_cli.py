"""`campusedge gateway run` start-up errors: one line naming the file, URL or variable; exit 2."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

import pytest

from campusedge.broker import free_port
from campusedge.cli import main
from gateway.cli import run as run_command
from gateway.cli.run import settings_from_args


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


def run_fails(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 2) -> str:
    assert main(["gateway", "run", *argv]) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("campusedge gateway run: ")
    return lines[0]


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    return ["--db", str(tmp_path / "readings.db"), "--state-db", str(tmp_path / "state.db")]


def test_unknown_store_scheme(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = run_fails(capsys, "--store-url", "postgres://x/y", "--state-db", str(tmp_path / "s.db"))
    assert "'postgres://x/y'" in line and "unknown scheme 'postgres'" in line


def test_influx_url_without_database(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = run_fails(capsys, "--store-url", "influx://nohost", "--state-db", str(tmp_path / "s.db"))
    assert "influx://nohost" in line and "database" in line


def test_unreachable_influx(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    # Exit 1, not 2: the server may still be starting (after a power cut), so systemd, which
    # does not restart on 2 (a configuration error), tries again.
    line = run_fails(
        capsys,
        "--store-url",
        f"influx://127.0.0.1:{port}/campus",
        "--state-db",
        str(tmp_path / "s.db"),
        code=1,
    )
    assert f"127.0.0.1:{port}" in line and "refused" in line


def test_missing_alerts_dir(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: list[str]
) -> None:
    missing = tmp_path / "etc" / "alerts"
    line = run_fails(capsys, *files, "--alerts-dir", str(missing))
    assert str(missing) in line and "does not exist" in line


def test_bad_alert_yaml(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: list[str]
) -> None:
    alerts = tmp_path / "alerts"
    alerts.mkdir()
    (alerts / "sch1.yaml").write_text("rules: [\n")
    line = run_fails(capsys, *files, "--alerts-dir", str(alerts))
    assert str(alerts / "sch1.yaml") in line and "YAML" in line


def test_state_db_that_cannot_be_opened(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = run_fails(capsys, "--db", str(tmp_path / "r.db"), "--state-db", "/proc/st.db")
    assert "/proc/st.db" in line


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CAMPUSEDGE_MQTT_PORT", "abc"),
        ("CAMPUSEDGE_API_PORT", "99999"),
        ("CAMPUSEDGE_INGEST", "{not json"),
    ],
)
def test_bad_environment_variable(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    files: list[str],
    variable: str,
    value: str,
) -> None:
    monkeypatch.setenv(variable, value)
    line = run_fails(capsys, *files)
    assert variable in line


def test_bad_option_names_the_option(capsys: pytest.CaptureFixture[str], files: list[str]) -> None:
    line = run_fails(capsys, *files, "--api-port", "99999")
    assert "--api-port" in line and "65535" in line


def test_taken_api_port_stops_before_anything_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: list[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = run_fails(capsys, *files, "--api-port", str(port))
    assert f"127.0.0.1:{port}" in line and "in use" in line and "--api-port" in line
    # Nothing was opened: the store and the state database were never created.
    assert not (tmp_path / "readings.db").exists() and not (tmp_path / "state.db").exists()


def test_the_api_listens_on_ipv4_for_a_host_name() -> None:
    import socket

    from gateway.api.server import listen

    sock = listen("localhost", 0, "--api-port")
    try:
        # "localhost" may resolve to ::1 first; clients of http://localhost still reach IPv4.
        assert sock.family == socket.AF_INET and sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()


def test_db_never_overrides_the_state_database_the_environment_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parser = argparse.ArgumentParser()
    run_command.add_arguments(parser)
    args = parser.parse_args(["--db", str(tmp_path / "readings.db")])
    monkeypatch.delenv("CAMPUSEDGE_STATE_DB", raising=False)
    assert str(settings_from_args(args).state_db).endswith("readings-state.db")
    monkeypatch.setenv("CAMPUSEDGE_STATE_DB", str(tmp_path / "users.db"))
    # `gateway user add` writes tokens there: `run --db` must use the same file.
    assert str(settings_from_args(args).state_db) == str(tmp_path / "users.db")
