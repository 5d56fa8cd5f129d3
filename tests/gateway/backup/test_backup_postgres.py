"""`campusedge backup` and `restore` of a PostgreSQL state through pg_dump and pg_restore."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from campusedge.cli import main
from gateway.backup.archive import read_manifest
from tests.gateway.backup.postgres_server import PASSWORD, PostgresServer, postgres


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


__all__ = ["postgres"]  # the fixture


def test_a_postgresql_state_is_dumped_and_restored(
    tmp_path: Path, postgres: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    postgres.psql(
        "CREATE TABLE devices (school TEXT, device_id TEXT, last_seq BIGINT, "
        "PRIMARY KEY (school, device_id));"
        "INSERT INTO devices SELECT 's1', 'hr-' || i, i FROM generate_series(1, 500) i;"
    )
    out = tmp_path / "pg.tar.gz"
    assert main(["backup", "--out", str(out), "--state-db", postgres.url(), "--no-readings"]) == 0
    printed = capsys.readouterr()
    assert PASSWORD not in printed.out + printed.err
    manifest = read_manifest(out)
    state = manifest["members"]["state"]
    assert state["kind"] == "postgresql" and state["file"] == "state.pgdump"
    assert state["schema"]["tables"] == ["public.devices"]
    assert state["schema"]["server_version"].startswith("15")

    postgres.psql("DELETE FROM devices WHERE last_seq > 100; UPDATE devices SET last_seq = 0")
    # Another session on the database, as a running gateway keeps: refused unless --force.
    with tempfile.TemporaryFile() as sink:
        holder = subprocess.Popen(
            ["psql", "-X", "-d", postgres.url(), "-c", "SELECT pg_sleep(30)"],
            stdout=sink,
            stderr=sink,
        )
        try:
            _wait_for_session(postgres)
            assert main(["restore", str(out), "--state-db", postgres.url(), "--only", "state"]) == 1
            err = capsys.readouterr().err
            assert "other connection(s)" in err and "stop the gateway first" in err
            assert PASSWORD not in err and ":***@" in err
            assert postgres.psql("SELECT count(*) FROM devices") == ["100"]
        finally:
            # Ending psql does not end its backend while pg_sleep runs: end that too.
            postgres.psql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()"
            )
            holder.wait(10)
    assert main(["restore", str(out), "--state-db", postgres.url(), "--only", "state"]) == 0
    assert postgres.psql("SELECT count(*), sum(last_seq) FROM devices") == ["500|125250"]


def _wait_for_session(postgres: PostgresServer) -> None:
    for _ in range(100):
        if postgres.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep%'"
            " AND pid <> pg_backend_pid()"
        ) != ["0"]:
            return
        subprocess.run(["sleep", "0.1"], check=True)
    raise AssertionError("the holding session did not start")
