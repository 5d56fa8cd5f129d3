"""`campusedge bench state` times its paths on SQLite and on a real PostgreSQL in one run."""

from __future__ import annotations

import json

import pytest

from campusedge.cli import main
from tests.conftest import drop_pg_database, fresh_pg_database
from tests.services import PostgresProcess


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


def test_bench_state_on_both_databases(
    postgres: PostgresProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    name = fresh_pg_database(postgres, migrated=False)
    try:
        url = postgres.url(name)
        args = ["bench", "state", "--json", "--students", "200", "--repeat", "5"]
        assert main([*args, "--postgresql", url]) == 0
        result = json.loads(capsys.readouterr().out)
        assert set(result) == {"sqlite", "postgresql"}
        for figures in result.values():
            assert figures["students"] == 200 and figures["roster_import_ms"] > 0
            for path in ("live_lesson_view", "alert_raise", "alert_acknowledge", "alert_list_500"):
                assert 0 < figures[path]["p50_ms"] <= figures[path]["p99_ms"]
        # The database is filled now: a second run refuses it rather than mixing rows.
        assert main([*args, "--postgresql", url]) == 2
        assert "not empty" in capsys.readouterr().err
    finally:
        drop_pg_database(postgres, name)
