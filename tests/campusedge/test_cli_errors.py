"""The commands' error lines in the deployment's language: Chinese by default, English kept,
the same exit code in both; the system's own words (strerror) stay as a value inside."""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from campusedge.cli import main

CJK = re.compile(r"[\u4e00-\u9fff]")
# What a Chinese line may keep in Latin letters: paths, --options, VARIABLES, and the
# system's reason given as a value.
KEPT = [
    re.compile(r"(?<![\w-])/[^\s：，；（）]*"),
    re.compile(r"\bModbus\b"),
    re.compile(r"--[a-z][a-z-]*"),
    re.compile(r"\b[A-Z][A-Z_]{2,}\b"),
    re.compile(re.escape(os.strerror(errno.ENOENT))),
    re.compile(r"'x'|\bint\b"),  # the value given, and the type argparse names
]
Case = Callable[[Path], tuple[list[str], str, str]]


def _not_utf8(tmp: Path) -> Path:
    path = tmp / "template.yaml"
    path.write_bytes("sex_codes: {M: 男}".encode("gb18030"))
    return path


# (argv in tmp_path, the program name the line starts with, words of the English line)
CASES: dict[str, Case] = {
    "fitness: unreadable file (OSError)": lambda tmp: (
        ["fitness", "score", "--csv", str(tmp / "absent.csv")],
        "campusedge fitness score",
        "cannot read or write",
    ),
    "gateway run: start-up error": lambda tmp: (
        ["gateway", "run", "--store-url", "sqlite:///x.db", "--store-url-file", str(tmp / "u")],
        "campusedge gateway run",
        "not both",
    ),
    "export-national: state database error": lambda tmp: (
        [
            *("fitness", "export-national", "--school", "s1", "--year", "2025"),
            *("--out", str(tmp / "w.xlsx"), "--state-db", str(tmp / "none.db")),
        ],
        "campusedge fitness export-national",
        "no state database at",
    ),
    "export-national: template config error (our module's words)": lambda tmp: (
        [
            *("fitness", "export-national", "--school", "s1", "--year", "2025"),
            *("--out", str(tmp / "w.xlsx"), "--template-config", str(_not_utf8(tmp))),
        ],
        "campusedge fitness export-national",
        "not UTF-8 text",
    ),
    "backup: usage": lambda tmp: (
        ["backup", "--out", str(tmp / "b.tar"), "--keep", "3"],
        "campusedge backup",
        "needs --out-dir",
    ),
    "restore: backup error": lambda tmp: (
        ["restore", str(tmp / "none.tar")],
        "campusedge restore",
        "no such file",
    ),
    "repair: no file": lambda tmp: (
        ["gateway", "repair", "--state-db", str(tmp / "none.db")],
        "campusedge gateway repair",
        "no state database file",
    ),
    "edge run: box config error": lambda tmp: (
        ["edge", "run", "--config", str(tmp / "box.yaml")],
        "campusedge edge run",
        "cannot read",
    ),
    "edge: pe eval-crowd usage": lambda tmp: (
        ["pe", "eval-crowd", str(tmp), "--people", "5"],
        "campusedge pe eval-crowd",
        "must be 2, 3 or 4",
    ),
    "argparse: a required option missing": lambda tmp: (
        ["backup"],
        "campusedge backup",
        "error: one of the arguments --out --out-dir is required",
    ),
    "argparse: an invalid value": lambda tmp: (
        ["fitness", "export-national", "--school", "s1", "--year", "x", "--out", "w.xlsx"],
        "campusedge fitness export-national",
        "error: argument --year: invalid int value: 'x'",
    ),
    "simulators: modbus usage": lambda tmp: (
        ["simulate", "modbus", "--devices", "0"],
        "campusedge simulate modbus",
        "Modbus unit numbers",
    ),
}


def fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The exit code and the last stderr line (a SystemExit's message is its line)."""
    try:
        code = main(argv)
    except SystemExit as stop:
        if isinstance(stop.code, str):
            return 1, stop.code
        assert isinstance(stop.code, int)
        code = stop.code  # argparse's exit
    err = capsys.readouterr().err.strip()
    return code, err.splitlines()[-1] if err else ""


@pytest.mark.parametrize("case", CASES)
def test_an_error_line_is_chinese_by_default_and_english_when_asked(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    argv, prog, english_words = CASES[case](tmp_path)

    monkeypatch.delenv("CAMPUSEDGE_LANGUAGE", raising=False)  # the default: Chinese
    zh_code, zh_line = fails(argv, capsys)
    assert zh_line.startswith(prog + "："), zh_line  # a Chinese line's colon is full-width
    rest = zh_line.removeprefix(prog)
    for kept in KEPT:
        rest = kept.sub(" ", rest)
    assert CJK.search(rest), zh_line
    assert not re.findall(r"[A-Za-z]{2,}", rest), zh_line

    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")
    en_code, en_line = fails(argv, capsys)
    assert en_line.startswith(prog + ": ") and english_words in en_line, en_line
    assert not CJK.search(en_line), en_line
    assert en_code == zh_code != 0


def test_argparse_help_is_in_the_deployments_language(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CAMPUSEDGE_LANGUAGE", raising=False)
    with pytest.raises(SystemExit) as done:
        main(["gateway", "repair", "--help"])
    shown = capsys.readouterr().out
    assert done.value.code == 0
    assert shown.startswith("用法：campusedge gateway repair [-h]"), shown
    assert "选项" in shown and "显示此帮助信息并退出" in shown and "usage:" not in shown

    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")
    with pytest.raises(SystemExit):
        main(["gateway", "repair", "--help"])
    shown = capsys.readouterr().out
    assert shown.startswith("usage: campusedge gateway repair [-h]"), shown
    assert "options:" in shown and "show this help message and exit" in shown
