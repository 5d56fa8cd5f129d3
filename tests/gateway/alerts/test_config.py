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
        5.0,
        4.9,
        4.6,
    )
    assert cfg.vision.myopia_se_below_d == -0.5
    assert configs.warning_levels.per_class.yellow == 2


def test_school_file_overrides_and_district_file(tmp_path: Path) -> None:
    (tmp_path / "sch9.yaml").write_text(
        "fever:\n  threshold_c: {forehead: 37.5, wrist: 37.3}\n"
        "delivery:\n  webhooks:\n    - name: office\n"
        "      url: http://127.0.0.1:9/hook\n"
        "      format: wecom\n"
    )
    (tmp_path / "warning_levels.yaml").write_text(
        "owner: District CDC\nversion: '1'\nper_class: {yellow: 3, orange: 4, red: 6}\n"
        "per_school: {yellow: 8, orange: 12, red: 30}\n"
    )
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
        parse_warning_levels(
            "owner: x\nversion: '1'\nper_class: {yellow: 5, orange: 3, red: 9}"
            "\nper_school: {yellow: 1, orange: 2, red: 3}\n"
        )


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_fails_clearly(text: str) -> None:
    try:
        parse_school_config(text, "fuzz.yaml")
    except AlertConfigError as exc:
        assert str(exc).startswith("fuzz.yaml")


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["fever", "heart_rate", "vision", "devices", "x"]),
        st.one_of(
            st.none(),
            st.integers(),
            st.text(max_size=5),
            st.dictionaries(st.text(max_size=8), st.floats()),
        ),
    )
)
def test_any_mapping_parses_or_fails_clearly(data: dict[str, object]) -> None:
    import yaml

    try:
        parse_school_config(yaml.safe_dump(data), "fuzz.yaml")
    except AlertConfigError as exc:
        assert "fuzz.yaml" in str(exc)


def test_check_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from campusedge.cli import main

    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")  # the command's words, read below
    (tmp_path / "sch3.yaml").write_text("heart_rate: {high_sustain_s: 45}\n")
    assert main(["alerts", "check", str(tmp_path), "--school", "sch3"]) == 0
    out = capsys.readouterr().out
    assert "1 school file(s) sch3" in out and "high_sustain_s: 45.0" in out
    (tmp_path / "sch4.yaml").write_text("vision: {poor_below: high}\n")
    assert main(["alerts", "check", str(tmp_path)]) == 1
    assert "sch4.yaml: vision.poor_below" in capsys.readouterr().err


def test_check_command_hides_robot_keys_and_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from campusedge.cli import main

    (tmp_path / "sch5.yaml").write_text(
        "delivery:\n  webhooks:\n"
        "    - {name: office, url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
        "?key=WECOM-KEY-1', format: wecom}\n"
        "    - {name: duty, url: 'https://oapi.dingtalk.com/robot/send?access_token=DT-TOKEN',"
        " format: dingtalk, secret: SEC-DT-SECRET, escalation_only: true}\n"
    )
    assert main(["alerts", "check", str(tmp_path), "--school", "sch5"]) == 0
    out = capsys.readouterr().out
    for secret in ("WECOM-KEY-1", "DT-TOKEN", "SEC-DT-SECRET"):
        assert secret not in out
    # Still says which robot is which, and that a secret is set.
    assert "url: https://oapi.dingtalk.com/robot/send?access_token=***" in out
    assert "secret: '***'" in out and "escalation_only: true" in out


def _documented_defaults() -> dict[str, str]:
    """docs/alerts.md's defaults table: each setting named in a row → that row's default cell.

    A row may name several settings; a bare name after the first continues its prefix
    (`heart_rate.low_bpm`, `low_sustain_s` → heart_rate.low_sustain_s)."""
    import re

    docs = (Path(__file__).parents[3] / "docs" / "alerts.md").read_text(encoding="utf-8")
    table = docs.split("## Defaults and where they come from", 1)[1].split("\n## ", 1)[0]
    out: dict[str, str] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        assert cells[2], f"no source for {cells[0]}"
        prefix = ""
        for name in re.findall(r"`([^`]+)`", cells[0]):
            if "." in name:
                prefix = name.rsplit(".", 1)[0] + "."
                out[name] = cells[1]
            else:
                out[prefix + name] = cells[1]
    return out


def _leaves(model: object, prefix: str = "") -> dict[str, object]:
    from pydantic import BaseModel

    out: dict[str, object] = {}
    assert isinstance(model, BaseModel)
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            out.update(_leaves(value, f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = value
    return out


def _shows(cell: str, value: object) -> bool:
    """Whether a default cell states *value* (numbers compared as numbers)."""
    import re
    from datetime import time
    from enum import Enum

    text = cell.replace("−", "-")
    numbers = {float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", text)}
    if value is None:
        return "null" in text
    if isinstance(value, bool):
        return str(value).lower() in text
    if isinstance(value, int | float):
        return float(value) in numbers
    if isinstance(value, Enum):
        return str(value.value) in text
    if isinstance(value, time):
        return value.strftime("%H:%M") in text
    if isinstance(value, str):
        return value in text
    if isinstance(value, list):
        return (not value and "[]" in text) or (
            bool(value) and all(_shows(cell, v) for v in (value[0], value[-1]))
        )
    if isinstance(value, dict):
        return all(str(k) in text and _shows(cell, v) for k, v in value.items())
    raise AssertionError(f"no rule to find {value!r} in the docs")


def test_every_default_and_its_source_is_in_the_docs() -> None:
    from gateway.alerts.config import SchoolAlertConfig, WebhookTarget

    documented = _documented_defaults()
    configs = AlertConfigs()
    # The packaged file and the models agree, so the table describes what a school gets.
    assert configs.default == SchoolAlertConfig()
    defaults = {k: v for k, v in _leaves(SchoolAlertConfig()).items() if k != "school"}
    target = WebhookTarget(name="x", url="http://x")
    defaults.update(
        {
            f"delivery.webhooks[].{k}": v
            for k, v in _leaves(target).items()
            if k not in ("name", "url", "secret")
        }
    )
    defaults.update(_leaves(configs.warning_levels))
    del defaults["owner"], defaults["version"]
    missing, wrong = [], []
    for key, value in defaults.items():
        if isinstance(value, dict) and key not in documented:
            # A mapping may be documented key by key (fever.threshold_c.forehead, …).
            for k, v in value.items():
                if f"{key}.{k}" not in documented:
                    missing.append(f"{key}.{k}")
                elif not _shows(documented[f"{key}.{k}"], v):
                    wrong.append(f"{key}.{k}={v!r}")
        elif key not in documented:
            missing.append(key)
        elif not _shows(documented[key], value):
            wrong.append(f"{key}={value!r}: {documented[key]!r}")
    assert not missing, f"defaults not in docs/alerts.md: {missing}"
    assert not wrong, f"docs/alerts.md states other defaults: {wrong}"


def test_the_district_file_may_live_outside_the_schools_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from campusedge.cli import main
    from campusedge.settings import MqttSettings
    from gateway.service import Gateway, GatewaySettings, GatewayStartError

    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")  # the command's words, read below

    district = tmp_path / "district" / "levels-2026.yaml"
    district.parent.mkdir()
    district.write_text(
        "owner: Haidian CDC\nversion: '2026-10'\n"
        "per_class: {yellow: 3, orange: 4, red: 6}\n"
        "per_school: {yellow: 8, orange: 12, red: 30}\n"
    )
    assert main(["alerts", "check", "--warning-levels", str(district)]) == 0
    assert "warning levels v2026-10 by Haidian CDC" in capsys.readouterr().out
    settings = GatewaySettings(
        store_url=f"sqlite:///{tmp_path}/r.db",
        state_db=tmp_path / "state.db",
        warning_levels_file=district,
    )
    gw = Gateway(settings, MqttSettings(host="127.0.0.1", port=1))
    try:
        assert gw.alerts is not None
        assert gw.alerts.configs.warning_levels.per_class.yellow == 3
    finally:
        gw.store.close()
        gw.db.close()
    missing = settings.model_copy(update={"warning_levels_file": tmp_path / "nope.yaml"})
    with pytest.raises(GatewayStartError, match=r"nope\.yaml: cannot read the district's"):
        Gateway(missing, MqttSettings(host="127.0.0.1", port=1))
