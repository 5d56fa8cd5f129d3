"""`campusedge gateway user`: add, rotate, revoke; adding an existing user is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from campusedge.cli import main
from gateway.auth import Role, Users
from gateway.state import StateDB


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


def test_user_lifecycle(state_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--state-db", state_url]
    assert main(["gateway", "user", "add", "nurse.wang", "--role", "health_staff", *db]) == 0
    first, said = capsys.readouterr()
    assert "pg-test-pw" not in said  # a PostgreSQL URL is named without its password
    first = first.strip()
    users = Users(StateDB(state_url))
    assert users.authenticate(first) is not None
    assert main(["gateway", "user", "add", "nurse.wang", "--role", "campus_it", *db]) == 1
    assert "exists" in capsys.readouterr().err
    user = users.get("nurse.wang")
    assert user is not None and user.role is Role.HEALTH_STAFF
    assert main(["gateway", "user", "rotate", "nurse.wang", *db]) == 0
    second = capsys.readouterr().out.strip()
    assert users.authenticate(first) is None and users.authenticate(second) is not None
    assert main(["gateway", "user", "revoke", "nurse.wang", *db]) == 0
    assert users.authenticate(second) is None
    assert main(["gateway", "user", "revoke", "nurse.wang", *db]) == 1


def test_add_says_where_and_prints_only_the_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "state.db"
    assert (
        main(["gateway", "user", "add", "t1", "--role", "pe_teacher", "--state-db", str(path)]) == 0
    )
    out, err = capsys.readouterr()
    assert len(out.split()) == 1 and Users(StateDB(path)).authenticate(out.strip()) is not None
    assert str(path) in err and "pe_teacher" in err


def test_state_db_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "env-state.db"
    monkeypatch.setenv("CAMPUSEDGE_STATE_DB", str(path))
    assert main(["gateway", "user", "add", "t1", "--role", "pe_teacher"]) == 0
    assert Users(StateDB(path)).get("t1") is not None


def test_add_without_role_says_role_is_required(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["gateway", "user", "add", "nurse2", "--state-db", str(tmp_path / "s.db")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--role" in err and "required" in err


def test_list_empty_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "state.db"
    StateDB(path).close()  # a gateway's database before anyone was added
    assert main(["gateway", "user", "list", "--state-db", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and f"no users in {path}" in err
    assert (
        main(
            [
                "gateway",
                "user",
                "add",
                "h1",
                "--role",
                "health_staff",
                "--name",
                "Nurse",
                "--state-db",
                str(path),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["gateway", "user", "list", "--state-db", str(path)]) == 0
    listed = capsys.readouterr().out
    assert (
        listed.startswith("h1\thealth_staff\tNurse\ttoken until 20")
        and "\tschools " in listed
        and listed.count("\n") == 1
    )


def test_state_db_that_cannot_be_opened(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gateway", "user", "list", "--state-db", "/proc/st.db"]) == 2
    assert "/proc/st.db" in capsys.readouterr().err


@pytest.mark.parametrize("action", [["list"], ["rotate", "t1"], ["revoke", "t1"]])
def test_only_add_creates_a_state_database(
    tmp_path: Path, action: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "typo" / "x.db"
    assert main(["gateway", "user", *action, "--state-db", str(typo)]) == 2
    assert f"no state database at {typo}" in capsys.readouterr().err
    assert not typo.parent.exists()


def test_default_state_db_is_named_and_not_created_by_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CAMPUSEDGE_STATE_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["gateway", "user", "list"]) == 2
    assert not (tmp_path / "var").exists()
    capsys.readouterr()
    assert main(["gateway", "user", "add", "it.admin", "--role", "campus_it"]) == 0
    err = capsys.readouterr().err
    made = tmp_path / "var" / "campusedge" / "state.db"
    # The full path, and that the gateway must be pointed at it for the token to work.
    assert f"created a new state database {made}" in err
    assert f"CAMPUSEDGE_STATE_DB={made}" in err and made.exists()
    assert main(["gateway", "user", "add", "t.li", "--role", "pe_teacher"]) == 0
    assert "created" not in capsys.readouterr().err


def test_an_empty_state_db_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAMPUSEDGE_STATE_DB", "")
    assert main(["gateway", "user", "list"]) == 2
    err = capsys.readouterr().err
    assert "CAMPUSEDGE_STATE_DB is set but empty" in err
    assert err.count("cannot open state database") == 0


def test_a_state_database_error_is_said_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database, just text " * 100)
    assert main(["gateway", "user", "list", "--state-db", str(junk)]) == 2
    err = capsys.readouterr().err
    assert err.count("cannot open state database") == 1 and str(junk) in err


@pytest.mark.parametrize("user_id", ["li wei", "t/li", "", "$(id)", "a;b", "x" * 65, "张"])
def test_unsafe_user_ids_are_refused(
    tmp_path: Path, user_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "state.db"
    assert (
        main(["gateway", "user", "add", user_id, "--role", "pe_teacher", "--state-db", str(path)])
        == 2
    )
    assert "invalid user id" in capsys.readouterr().err
    assert not path.exists()


def test_ordinary_user_ids_are_accepted(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    for user_id in ("t.li", "nurse_wang", "wang@north-primary", "T01"):
        assert (
            main(["gateway", "user", "add", user_id, "--role", "pe_teacher", "--state-db", path])
            == 0
        )
