"""A district's alert and warning-level files apply to its schools unless a school has its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.alerts.config import AlertConfigError, AlertConfigs

LEVELS = """owner: District One health authority
version: "1"
per_class: {yellow: 2, orange: 3, red: 4}
per_school: {yellow: 3, orange: 6, red: 9}
"""


def _configs(folder: Path) -> AlertConfigs:
    districts = {"sch1": "D1", "sch2": "D1", "sch9": "D9"}
    return AlertConfigs(folder, district_of=districts.get)


def test_school_file_then_district_file_then_defaults(tmp_path: Path) -> None:
    (tmp_path / "districts").mkdir()
    (tmp_path / "districts" / "D1.yaml").write_text("fever: {recheck_threshold_c: 37.5}\n")
    (tmp_path / "districts" / "D1.warning_levels.yaml").write_text(LEVELS)
    (tmp_path / "sch2.yaml").write_text("fever: {recheck_threshold_c: 37.8}\n")
    configs = _configs(tmp_path)
    recheck = {s: configs.for_school(s).fever.recheck_threshold_c for s in ("sch1", "sch2", "sch9")}
    assert recheck == {"sch1": 37.5, "sch2": 37.8, "sch9": 37.3}
    assert [configs.source(s) for s in ("sch1", "sch2", "sch9")] == [
        "district D1",
        "school",
        "defaults",
    ]
    # Warning levels are the district's for each of its schools, its own file or not.
    assert configs.warning_levels_for("sch2").per_school.orange == 6
    assert configs.warning_levels_for("sch9") is configs.warning_levels


def test_a_district_file_naming_a_school_is_refused_with_where_it_belongs(tmp_path: Path) -> None:
    (tmp_path / "districts").mkdir()
    (tmp_path / "districts" / "D1.yaml").write_text("school: sch1\n")
    with pytest.raises(AlertConfigError, match=r"D1\.yaml: school: .*sch1\.yaml"):
        _configs(tmp_path)


def test_check_command_says_where_a_schools_rules_come_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from campusedge.cli import main

    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")  # the command's words, read below
    (tmp_path / "districts").mkdir()
    (tmp_path / "districts" / "D1.yaml").write_text("heart_rate: {high_sustain_s: 45}\n")
    (tmp_path / "districts" / "D1.warning_levels.yaml").write_text(LEVELS)
    check = ["alerts", "check", str(tmp_path), "--school", "sch1"]
    assert main([*check, "--district", "D1"]) == 0
    out = capsys.readouterr().out
    assert "sch1: from district D1" in out and "high_sustain_s: 45.0" in out
    assert "by District One health authority" in out
    assert main(check) == 0
    assert "sch1: from defaults" in capsys.readouterr().out
