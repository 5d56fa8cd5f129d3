"""`campusedge fitness score|total`: files or stdin in, results out, errors on stderr."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from campusedge.cli import main


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


SCORES = [
    {"id": "a", "grade": "7", "sex": "male", "item": "pull_up", "value": 16},
    {"id": "b", "grade": "7", "sex": "male", "item": "pull_up", "value": 200},
    {"id": "c", "grade": "7", "sex": "female", "item": "run_800m", "value": "3:35"},
]


def test_score_jsonl_file_to_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in SCORES), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code = main(["fitness", "score", "--batch", str(source), "--out", str(out)])
    assert code == 1  # one row failed; the others are still in the output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == {"id": "a", "score": 100, "bonus": 3}  # 初一 100 at 13 reps
    assert lines[1]["id"] == "b" and lines[1]["field"] == "value"
    assert lines[2] == {"id": "c", "score": 100, "bonus": 0}  # 初一 female 100 at 215 s
    errors = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert errors == [
        {
            "row": 2,
            "column": "value",
            "id": "b",
            "error": "impossible value 200 for pull_up: expected 0..60 count",
        }
    ]


def test_total_csv_clean_exit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    roster = tmp_path / "roster.csv"
    # A spreadsheet saved as UTF-8 with a byte-order mark, as Excel does.
    roster.write_text(
        "id,grade,sex,bmi,vital_capacity,run_50m,sit_and_reach,rope_skip_1min\n"
        "s1,2,male,16.0,1000,12.0,9.1,70\n",
        encoding="utf-8-sig",
    )
    code = main(["fitness", "total", "--csv", str(roster)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    header, row = captured.out.splitlines()
    assert header == "id,standard_score,bonus,total,level,error,column"
    # 100×15% + 64×15% + 60×20% + 76×30% + 72×20% = 15 + 9.6 + 12 + 22.8 + 14.4
    assert row == "s1,73.8,0,73.8,pass,,"


def test_unreadable_input_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fitness", "total", "--batch", str(tmp_path / "missing.jsonl")])
    assert code == 2
    assert "missing.jsonl" in capsys.readouterr().err


def test_round_trip_through_the_installed_command() -> None:
    lines = [
        {
            "id": 1,
            "grade": "12",
            "sex": "male",
            "results": {
                "bmi": 21.5,
                "vital_capacity": 5040,
                "run_50m": 6.7,
                "sit_and_reach": 24.9,
                "standing_long_jump": 273,
                "pull_up": 19,
                "run_1000m": "3:20",
            },
        },
        {"id": 2, "grade": "12", "sex": "male", "results": {"bmi": 21.5}},
    ]
    stdin = "".join(json.dumps(line) + "\n" for line in lines)
    done = subprocess.run(
        [sys.executable, "-m", "campusedge.cli", "fitness", "total", "--batch", "-"],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["id"] == 1 and set(first) == {"id", "standard_score", "bonus", "total", "level"}
    assert first["total"] == pytest.approx(first["standard_score"] + first["bonus"])
    assert second == {
        "id": 2,
        "error": "missing item vital_capacity (grade 12 male takes it)",
        "field": "results.vital_capacity",
    }
    # stderr names every missing item of the row, not just the first.
    errors = [json.loads(line) for line in done.stderr.splitlines()]
    assert {e["row"] for e in errors} == {2}
    assert [e["column"] for e in errors] == [
        f"results.{item}"
        for item in (
            "vital_capacity",
            "run_50m",
            "sit_and_reach",
            "standing_long_jump",
            "pull_up",
            "run_1000m",
        )
    ]


def test_score_accepts_the_roster_spelling_of_sex(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """M/F or 男/女 as in the roster CSV, any case, score as male/female (CSV on stdin)."""
    rows = [
        "id,grade,sex,item,value",
        "a,7,M,pull_up,16",
        "c,7,f,run_800m,3:35",
        "d,7,x,run_800m,3:35",
        "e,7,男,pull_up,16",
        "g,7,女,run_800m,3:35",
    ]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(rows) + "\n"))
    assert main(["fitness", "score", "--csv", "-"]) == 1  # row d
    captured = capsys.readouterr()
    scored = captured.out.splitlines()
    assert scored[1].startswith("a,100,3,") and scored[2].startswith("c,100,0,")
    assert scored[4].startswith("e,100,3,") and scored[5].startswith("g,100,0,")
    assert "expected 男/女, male/female, M/F or 1/2" in captured.err


@pytest.mark.parametrize(
    "command,header,row",
    [
        ("score", "id,grade,sex,item,value", "a,7,M,pull_up,16"),
        ("total", "id,grade,sex,bmi", "a,7,M,20.1"),
    ],
)
def test_csv_on_stdin_with_a_byte_order_mark_keeps_the_ids(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    header: str,
    row: str,
) -> None:
    """Excel's "CSV UTF-8" begins with a BOM; piped in, it must not rename the id column."""
    raw = ("\ufeff" + header + "\r\n" + row + "\r\n").encode("utf-8")
    # What a process gets: a text wrapper over the byte stream, decoding plain UTF-8.
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
    main(["fitness", command, "--csv", "-"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split(",")[0] == "id"
    assert lines[1].split(",")[0] == "a"


def test_a_gbk_results_file_with_chinese_headers_scores_like_the_roster_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As Excel on Chinese Windows saves "CSV (comma delimited)": GBK, headers as the 2014
    # standard names the items, grades and sex as the class list writes them.
    source = tmp_path / "成绩.csv"
    source.write_bytes(
        (
            "学号,姓名,性别,年级,1分钟跳绳,引体向上\ns1,张三,男,初一,,16\ns2,李四,女,三年级,120,\n"
        ).encode("gbk")
    )
    out = tmp_path / "out.csv"
    assert main(["fitness", "score", "--csv", str(source), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").splitlines() == [
        "id,rope_skip_1min_score,rope_skip_1min_bonus,pull_up_score,pull_up_bonus,error,column",
        "s1,,,100,3,,",  # 初一 boy, 16 pull-ups: 100 and 3 bonus points
        "s2,85,0,,,,",  # 三年级 girl, 120 skips: 85
    ]
    assert capsys.readouterr().err == ""


def test_a_results_file_without_an_id_column_is_refused_naming_the_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "results.csv"
    source.write_text("number,grade,sex,pull_up\n1,7,M,16\n", encoding="utf-8")
    assert main(["fitness", "score", "--csv", str(source)]) == 2
    err = capsys.readouterr().err
    assert "no id column" in err and "学号" in err and "number, grade, sex, pull_up" in err
