"""`campusedge bench fitness-listener` refuses a band count its two running lessons cannot share."""

from __future__ import annotations

import pytest

from campusedge.cli import main


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


def test_too_few_bands_for_two_running_lessons(capsys: pytest.CaptureFixture[str]) -> None:
    # 40 students in each of two lessons open at once: a band is worn in one lesson only.
    assert main(["bench", "fitness-listener", "--devices", "79"]) == 2
    assert "--devices must be at least 80" in capsys.readouterr().err
