"""A damaged state database stops the gateway with a pointer to `gateway repair`, which
checks it and, with --salvage, rebuilds it from the rows that still read."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from campusedge.cli import main
from gateway.audit import AuditLog
from gateway.auth import Role, Users
from gateway.state import StateDB


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


ENTRIES = 3000


def _state(path: Path) -> int:
    """A state file with one user and many audit rows, one of whose pages is then overwritten;
    return how many audit rows are left readable."""
    db = StateDB(path)
    users = Users(db)
    users.create("nurse1", "Nurse", Role.HEALTH_STAFF)
    user = users.get("nurse1")
    assert user is not None
    AuditLog(db).record_many(
        user, "read", [("student", f"stu-{i:05d}", "vision record") for i in range(ENTRIES)]
    )
    db.close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    leaves = dict(
        raw.execute(
            "SELECT pageno, ncell FROM dbstat WHERE name = 'audit_log' AND pagetype = 'leaf'"
        ).fetchall()
    )
    size = int(raw.execute("PRAGMA page_size").fetchone()[0])
    raw.close()
    victim = sorted(leaves)[len(leaves) // 2]
    with path.open("r+b") as f:
        f.seek((victim - 1) * size)
        f.write(os.urandom(size))
    return ENTRIES - int(leaves[victim])


def test_a_damaged_state_database_is_named_and_repaired_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.db"
    readable = _state(state)

    # The gateway refuses to start, in one line that says what to run.
    assert main(["gateway", "run", "--db", str(tmp_path / "r.db"), "--state-db", str(state)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert f"the state database {state} is damaged" in err
    assert f"campusedge gateway repair --state-db {state}" in err

    # Without --salvage: told, not touched.
    before = state.read_bytes()
    assert main(["gateway", "repair", "--state-db", str(state)]) == 1
    out = capsys.readouterr().out
    assert "damaged" in out and "--salvage" in out
    assert state.read_bytes() == before

    assert main(["gateway", "repair", "--state-db", str(state), "--salvage"]) == 0
    out = capsys.readouterr().out
    aside = Path(out.split("kept the damaged file as ", 1)[1].splitlines()[0])
    assert aside.parent == tmp_path and aside.name.startswith("state.db.damaged-")
    assert aside.read_bytes() == before
    assert f"audit_log {readable}" in out

    db = sqlite3.connect(state)
    assert db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    assert db.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == readable
    db.close()
    # The rebuilt file serves: the user is there, and a second check finds nothing to do.
    assert main(["gateway", "user", "list", "--state-db", str(state)]) == 0
    assert "nurse1" in capsys.readouterr().out
    assert main(["gateway", "repair", "--state-db", str(state)]) == 0
    assert "sound" in capsys.readouterr().out


def test_a_file_that_is_no_database_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = tmp_path / "gateway.yaml"
    wrong.write_text("store_url: sqlite:///x.db\n" * 100)
    assert main(["gateway", "repair", "--state-db", str(wrong), "--salvage"]) == 1
    assert "not a SQLite file" in capsys.readouterr().err
    assert wrong.read_text().startswith("store_url")
    assert list(tmp_path.iterdir()) == [wrong]
