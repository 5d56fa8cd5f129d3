"""The command dispatcher: help, command groups, unknown commands."""

from __future__ import annotations

import pytest

from campusedge.cli import COMMANDS, main


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


def run(argv: list[str]) -> tuple[int, str]:
    lines: list[str] = []
    code = main(argv, out=lines.append)
    return code, "\n".join(lines)


def test_help_lists_every_command() -> None:
    code, text = run(["--help"])
    assert code == 0
    for path in COMMANDS:
        assert " ".join(path) in text


def test_group_help_lists_only_that_group() -> None:
    code, text = run(["fitness", "--help"])
    assert code == 0
    assert "fitness score" in text and "fitness total" in text
    assert "gateway run" not in text


def test_unknown_command_exits_2_and_shows_usage() -> None:
    code, text = run(["teleport"])
    assert code == 2 and "unknown command" in text and "gateway run" in text
    code, text = run(["fitness", "juggle"])
    assert code == 2 and "fitness score" in text


def test_no_command_or_a_group_alone_shows_usage_and_exits_2() -> None:
    # A script that forgot its command must not carry on as if something had run.
    code, text = run([])
    assert code == 2 and "gateway run" in text
    code, text = run(["fitness"])
    assert code == 2 and "fitness score" in text


def test_help_and_errors_are_in_the_deployments_language(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAMPUSEDGE_LANGUAGE", raising=False)  # the default: Chinese
    code, text = run(["teleport"])
    assert code == 2 and "campusedge：未知命令 'teleport'" in text
    assert "用法：campusedge 命令 [选项]" in text
    assert "运行网关：接收数据、存储、提供 API" in text  # gateway run's summary
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")
    code, text = run(["teleport"])
    assert "campusedge: unknown command 'teleport'" in text
    assert "run the gateway: ingest, store, API" in text


def test_every_summary_is_in_the_chinese_catalog() -> None:
    """A command added without N_() around its summary would show in English."""
    from gateway.i18n import Catalogs

    chinese = Catalogs("zh_CN").translator()
    untranslated = [p for p, (_, s) in COMMANDS.items() if chinese.gettext(s) == s]
    assert untranslated == []
