"""Alert configs: packaged defaults, per-school files, clear errors, fuzzed input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.alerts.config import (
    AlertConfigError,
    AlertConfigs,
    parse_school_config,
    parse_warning_levels,
)


def test_defaults_carry_the_reference_figures() -> None:
    configs = AlertConfigs()
    cfg = configs.for_school("anywhere")
    assert cfg.fever.threshold_c == {"forehead": 37.3, "wrist": 37.3}
    assert cfg.fever.recheck_threshold_c == 37.3
    assert (cfg.vision.poor_below, cfg.vision.mild_at_least, cfg.vision.moderate_at_least) == (
        5.0, 4.9, 4.6)
    assert cfg.vision.myopia_se_below_d == -0.5
    assert configs.warning_levels.per_class.yellow == 2


def test_school_file_overrides_and_district_file(tmp_path: Path) -> None:
    (tmp_path / "sch9.yaml").write_text("fever:\n  threshold_c: {forehead: 37.5, wrist: 37.3}\n"
                                        "delivery:\n  webhooks:\n    - name: office\n"
                                        "      url: http://127.0.0.1:9/hook\n"
                                        "      format: wecom\n")
    (tmp_path / "warning_levels.yaml").write_text(
        "owner: District CDC\nversion: '1'\nper_class: {yellow: 3, orange: 4, red: 6}\n"
        "per_school: {yellow: 8, orange: 12, red: 30}\n")
    configs = AlertConfigs(tmp_path)
    assert configs.for_school("sch9").fever.threshold_c["forehead"] == 37.5
    assert configs.for_school("sch9").delivery.webhooks[0].format.value == "wecom"
    assert configs.for_school("other").fever.threshold_c["forehead"] == 37.3
    assert configs.warning_levels.owner == "District CDC"


def test_errors_name_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "sch1.yaml"
    path.write_text("fever:\n  threshold: 37.3\n")
    with pytest.raises(AlertConfigError, match=r"sch1\.yaml: fever\.threshold: Extra inputs"):
        AlertConfigs(tmp_path)
    path.write_text("heart_rate:\n  high_share_of_max: 3\n")
    with pytest.raises(AlertConfigError, match=r"heart_rate\.high_share_of_max"):
        AlertConfigs(tmp_path)
    path.write_text("school: sch2\n")
    with pytest.raises(AlertConfigError, match="does not match the file name"):
        AlertConfigs(tmp_path)
    path.write_text("timezone: Mars/Olympus\n")
    with pytest.raises(AlertConfigError, match="unknown time zone"):
        AlertConfigs(tmp_path)
    with pytest.raises(AlertConfigError, match="must rise"):
        parse_warning_levels("owner: x\nversion: '1'\nper_class: {yellow: 5, orange: 3, red: 9}"
                             "\nper_school: {yellow: 1, orange: 2, red: 3}\n")


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_fails_clearly(text: str) -> None:
    try:
        parse_school_config(text, "fuzz.yaml")
    except AlertConfigError as exc:
        assert str(exc).startswith("fuzz.yaml")


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.sampled_from(["fever", "heart_rate", "vision", "devices", "x"]),
                       st.one_of(st.none(), st.integers(), st.text(max_size=5),
                                 st.dictionaries(st.text(max_size=8), st.floats()))))
def test_any_mapping_parses_or_fails_clearly(data: dict[str, object]) -> None:
    import yaml

    try:
        parse_school_config(yaml.safe_dump(data), "fuzz.yaml")
    except AlertConfigError as exc:
        assert "fuzz.yaml" in str(exc)


def test_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from campusedge.cli import main

    (tmp_path / "sch3.yaml").write_text("heart_rate: {high_sustain_s: 45}\n")
    assert main(["alerts", "check", str(tmp_path), "--school", "sch3"]) == 0
    out = capsys.readouterr().out
    assert "1 school file(s) sch3" in out and "high_sustain_s: 45.0" in out
    (tmp_path / "sch4.yaml").write_text("vision: {poor_below: high}\n")
    assert main(["alerts", "check", str(tmp_path)]) == 1
    assert "sch4.yaml: vision.poor_below" in capsys.readouterr().err
