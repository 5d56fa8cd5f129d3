"""`campusedge gateway user`: add, rotate, revoke; adding an existing user is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from campusedge.cli import main
from gateway.auth import Role, Users
from gateway.state import StateDB


def test_user_lifecycle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--state-db", str(tmp_path / "state.db")]
    assert main(["gateway", "user", "add", "nurse.wang", "--role", "health_staff", *db]) == 0
    first = capsys.readouterr().out.strip()
    users = Users(StateDB(tmp_path / "state.db"))
    assert users.authenticate(first) is not None
    assert main(["gateway", "user", "add", "nurse.wang", "--role", "campus_it", *db]) == 1
    assert "exists" in capsys.readouterr().out
    user = users.get("nurse.wang")
    assert user is not None and user.role is Role.HEALTH_STAFF
    assert main(["gateway", "user", "rotate", "nurse.wang", *db]) == 0
    second = capsys.readouterr().out.strip()
    assert users.authenticate(first) is None and users.authenticate(second) is not None
    assert main(["gateway", "user", "revoke", "nurse.wang", *db]) == 0
    assert users.authenticate(second) is None
    assert main(["gateway", "user", "revoke", "nurse.wang", *db]) == 1
