"""`campusedge gateway district` and `gateway user add --role district --district D`."""

from __future__ import annotations

from pathlib import Path

import pytest

from campusedge.cli import main
from gateway.auth import Role, Users
from gateway.state import StateDB


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


def test_define_a_district_and_its_user(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--state-db", str(tmp_path / "state.db")]
    district = ["gateway", "district"]
    assert main([*district, "add", "D1", "--name", "一区", "--school", "sch1", *db]) == 0
    assert main([*district, "add", "D2", "--school", "sch2", *db]) == 0
    assert main([*district, "add", "D1", *db]) == 1  # exists
    assert main([*district, "schools", "D1", "--school", "sch1", "--school", "sch2", *db]) == 2
    assert "'sch2' belongs to district 'D2'" in capsys.readouterr().err
    assert main([*district, "schools", "D1", "--school", "sch1", "--school", "sch3", *db]) == 0
    assert main([*district, "add", "bad id", *db]) == 2
    capsys.readouterr()
    assert main([*district, "list", *db]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "D1\t一区\tschools sch1,sch3",
        "D2\tD2\tschools sch2",
    ]
    user = ["gateway", "user", "add"]
    assert main([*user, "d1", "--role", "district", *db]) == 2
    assert "needs --district" in capsys.readouterr().err
    assert main([*user, "d1", "--role", "district", "--district", "D9", *db]) == 2
    assert main([*user, "d1", "--role", "district", "--district", "D1", "--school", "x", *db]) == 2
    assert main([*user, "h1", "--role", "health_staff", "--district", "D1", *db]) == 2
    capsys.readouterr()
    assert main([*user, "d1", "--role", "district", "--district", "D1", *db]) == 0
    token = capsys.readouterr().out.strip()
    found = Users(StateDB(tmp_path / "state.db")).authenticate(token)
    assert found is not None and found.role is Role.DISTRICT
    assert (found.district, found.district_schools, found.schools) == (
        "D1",
        {"sch1", "sch3"},
        frozenset(),
    )
    # A district user's schools are its district's: `user schools` does not give it any.
    assert main(["gateway", "user", "schools", "d1", "--school", "sch2", *db]) == 2
    assert main(["gateway", "user", "list", *db]) == 0
    assert "district D1" in capsys.readouterr().out
