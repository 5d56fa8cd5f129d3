"""What a command tells a person when it succeeds is in the deployment's language too:
Chinese by default, English when asked, the same exit code in both."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from campusedge.cli import main

CJK = re.compile(r"[\u4e00-\u9fff]")


def _sound_db(tmp: Path) -> list[str]:
    path = tmp / "state.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x INTEGER)")
    db.close()
    return ["gateway", "repair", "--state-db", str(path)]


# (argv made in a fresh folder, the Chinese words and the English words of its first line)
Case = Callable[[Path], list[str]]
CASES: dict[str, tuple[Case, str, str]] = {
    "gateway repair: a sound file": (_sound_db, "完好，无需修复", "sound, nothing to repair"),
    "gateway model keygen": (
        lambda tmp: ["gateway", "model", "keygen", "--out", str(tmp / "signing.pem")],
        "请勿存放在网关上",
        "(keep it off the gateway)",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_success_line_is_chinese_by_default_and_english_when_asked(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make, chinese, english = CASES[case]
    lines = {}
    for language in ("zh-CN", "en"):
        monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", language)
        folder = tmp_path / language
        folder.mkdir()
        code = main(make(folder))
        out = capsys.readouterr().out
        assert code == 0, out
        lines[language] = out.splitlines()[0]
    assert chinese in lines["zh-CN"] and english not in lines["zh-CN"], lines
    assert english in lines["en"] and not CJK.search(lines["en"]), lines


@pytest.mark.parametrize(
    ("argv", "chinese", "english"),
    [
        (["fitness", "export-national", "--help"], "要写出的工作簿", "the workbook to write"),
        (["backup", "--help"], "将备份写入 FILE", "write the backup to FILE"),
        (["gateway", "run", "--help"], "0 表示关闭 HTTP API", "0 disables the HTTP API"),
    ],
)
def test_the_options_help_is_in_the_deployments_language(
    argv: list[str],
    chinese: str,
    english: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shown = {}
    for language in ("zh-CN", "en"):
        monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", language)
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 0
        # argparse wraps lines: compare the words, not the breaks.
        shown[language] = " ".join(capsys.readouterr().out.split())
    assert chinese in shown["zh-CN"] and english not in shown["zh-CN"]
    # (English help may name Chinese columns, as export-national's --registry does.)
    assert english in shown["en"] and chinese not in shown["en"]


def test_the_demos_lesson_line_is_in_the_deployments_language(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gateway.cli.demo import lesson_line, lesson_plan

    minutes, speed = lesson_plan(None)
    monkeypatch.delenv("CAMPUSEDGE_LANGUAGE", raising=False)  # the default: Chinese
    assert lesson_line(0, minutes, speed) == "第 0.0 分钟，共 45 分钟；60 秒后开始跳绳测试"
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")
    assert lesson_line(0, minutes, speed) == "minute 0.0 of 45; rope test in 60 s"
