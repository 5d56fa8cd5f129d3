"""Users' schools on SQLite and PostgreSQL: kept with the user, set by the CLI, given on upgrade."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from campusedge.cli import main
from gateway.auth import Role, Users
from gateway.roster import Roster
from gateway.state import StateDB


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


@pytest.fixture
def users(state_url: str) -> Users:
    return Users(StateDB(state_url))


def test_schools_are_the_users_and_go_with_them(users: Users) -> None:
    token = users.create("n1", "Nurse", Role.HEALTH_STAFF, schools=["b", "a", "a"])
    user = users.authenticate(token)
    assert user is not None and user.schools == frozenset({"a", "b"})
    users.set_schools("n1", ["c"])
    assert users.get("n1").schools == frozenset({"c"})  # type: ignore[union-attr]
    # A stream opened before compares the user: a change of schools ends it.
    assert users.authenticate(token) != user
    with pytest.raises(KeyError):
        users.set_schools("nobody", ["a"])
    users.delete("n1")
    assert users.db.query("SELECT * FROM user_schools") == []
    assert users.create("n2", "Nurse", Role.HEALTH_STAFF) and users.get("n2").schools == frozenset()  # type: ignore[union-attr]


def test_users_from_before_schools_keep_seeing_every_known_school(state_url: str) -> None:
    db = StateDB(state_url)
    Users(db).create("n1", "Nurse", Role.HEALTH_STAFF)
    Roster(db).add_class("c1", "north", "Class 1", "5")
    Roster(db).add_class("c2", "south", "Class 2", "5")
    with db.transaction() as conn:  # the schema of revision 13
        conn.execute(text("DROP TABLE user_schools"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0013'"))
    db.close()
    upgraded = Users(StateDB(state_url))
    assert upgraded.get("n1").schools == frozenset({"north", "south"})  # type: ignore[union-attr]


def test_the_cli_sets_and_lists_schools(state_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--state-db", state_url]
    add = ["gateway", "user", "add", "n1", "--role", "health_staff", "--school", "a", *db]
    assert main(add) == 0
    assert "belongs to no school" not in capsys.readouterr().err
    assert main(["gateway", "user", "add", "t1", "--role", "pe_teacher", *db]) == 0
    assert "t1 belongs to no school yet" in capsys.readouterr().err
    assert main(["gateway", "user", "schools", "t1", "--school", "a", "--school", "b", *db]) == 0
    assert "now sees the schools: a, b" in capsys.readouterr().err
    assert main(["gateway", "user", "list", *db]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].endswith("\tschools a") and listed[1].endswith("\tschools a,b")
    assert main(["gateway", "user", "schools", "nobody", "--school", "a", *db]) == 1
