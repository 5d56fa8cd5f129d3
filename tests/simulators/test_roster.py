"""Roster files for `simulate gate|screening --roster`: which id each device sends, and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from campusedge.cli import main
from drivers import temp_gate, vision_screener
from simulators.roster import RosterFileError, subjects_from_roster


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


ROSTER = (
    "\ufeffstudent_id,name,sex,birth_date,class_id,card_id\n"  # as a spreadsheet saves it
    "S-0000A001,Pupil 1,F,2014-03-01,c7,C-0000C001\n"
    "S-0000A002,Pupil 2,M,2014-03-01,c7,\n"  # no card: screened, not gated
    "2014003,Pupil 3,F,2014-03-01,c7,F-0000F003\n"  # a face id; no class-list id
    "2014004,Pupil 4,M,2014-03-01,c7,card-4\n"  # nothing a device can send
    "S-0000A005,Pupil 5,F,2014-03-01,c7,S-0000B005\n"  # a screener id enrolled as card
    "2014006,Pupil 6,M,2014-03-01,c7,c-0000c006;S-0000B006\n"  # a card and a class-list id
)


def test_each_device_sends_the_id_of_its_own_shape(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    assert subjects_from_roster(path, temp_gate.SUBJECT, "gate") == [
        "C-0000C001",
        "F-0000F003",
        "C-0000C006",
    ]
    # The enrolled card first: the gateway finds a card before a student id.
    assert subjects_from_roster(path, vision_screener.SUBJECT, "screener") == [
        "S-0000A001",
        "S-0000A002",
        "S-0000B005",
        "S-0000B006",
    ]


def test_a_roster_without_ids_a_device_can_send_is_refused(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "student_id,name,sex,birth_date,class_id,card_id\n2014001,Pupil,F,2014-03-01,c7,card-1\n",
        encoding="utf-8",
    )
    with pytest.raises(
        SystemExit,
        match=r"simulate screening: --roster .*roster\.csv: no "
        r"student has an id a screener can send",
    ):
        main(["simulate", "screening", "--roster", str(roster)])
    with pytest.raises(
        SystemExit,
        match=r"simulate gate: --roster .*: no student has an id a "
        r"gate can send",
    ):
        main(["simulate", "gate", "--roster", str(roster)])
    (tmp_path / "other.csv").write_text("id,name\n1,x\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="no student_id column"):
        main(["simulate", "screening", "--roster", str(tmp_path / "other.csv")])
    with pytest.raises(RosterFileError, match="cannot read it"):
        subjects_from_roster(tmp_path / "missing.csv", temp_gate.SUBJECT, "gate")
    roster.write_text(ROSTER, encoding="utf-8")
    with pytest.raises(SystemExit, match="--students 5: the roster has only 4 student"):
        main(["simulate", "screening", "--roster", str(roster), "--students", "5"])
    with pytest.raises(SystemExit, match="--students 4: the roster has only 3 student"):
        main(["simulate", "gate", "--roster", str(roster), "--students", "4"])
