"""`campusedge fitness export-national`: a made-up school on SQLite state, read with openpyxl."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from campusedge.cli import main
from gateway.fitness import results as stored
from gateway.fitness.national_export import min_sec
from gateway.fitness.national_registry import ethnicity_code
from gateway.fitness.national_template import load_template
from gateway.health.referrals import Referrals
from gateway.health.vision import Refraction, Screening
from gateway.roster import LessonKind, Roster
from gateway.state import StateDB


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


AT = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # school year 2026-2027
# The template's columns in order, as docs/fitness.md documents them.
HEADER = [
    "年级编号",
    "班级编号",
    "班级名称",
    "学籍号",
    "民族代码",
    "姓名",
    "性别",
    "出生日期",
    "家庭住址",
    "身高",
    "体重",
    "肺活量",
    "50米跑",
    "坐位体前屈",
    "一分钟跳绳",
    "一分钟仰卧起坐",
    "50米×8往返跑",
    "立定跳远",
    "800米跑",
    "1000米跑",
    "引体向上",
    "左眼裸眼视力",
    "左眼屈光球镜S",
    "左眼屈光柱镜C",
    "左屈光轴位A",
    "右眼裸眼视力",
    "右眼屈光球镜S",
    "右眼屈光柱镜C",
    "右屈光轴位A",
]
REGISTRY = (
    "学号,学籍号,民族\n"
    "s-a,G110101201305020011,汉族\n"
    "s-b,G110101201302140022,03\n"
    "s-c,G110101201703030033,\n"
    "s-d,G110101201608080044,壮\n"
    "s-zz,G110101201001010055,汉族\n"
)


def _school(path: Path) -> None:
    """Two classes of school sch1 (and one of another school), results and screenings."""
    db = StateDB(path)
    try:
        roster = Roster(db)
        roster.add_class("c7", "sch1", "初一2班", "7")
        roster.add_class("c3", "sch1", "三年级1班", "3")
        roster.add_class("x1", "sch2", "初一1班", "7")
        roster.add_student("s-a", "张三", "M", date(2013, 5, 2), "c7")
        roster.add_student("s-b", "李四", "F", date(2013, 2, 14), "c7")
        roster.add_student("s-c", "王五", "F", date(2017, 3, 3), "c3")
        roster.add_student("s-d", "赵六", "M", date(2016, 8, 8), "c3")
        roster.add_student("x-1", "Other", "M", date(2013, 1, 1), "x1")
        results = stored.FitnessResults(db, roster)
        seven = roster.start_lesson("c7", "t1", LessonKind.FITNESS_TEST, {}, at=AT)
        three = roster.start_lesson("c3", "t1", LessonKind.FITNESS_TEST, {}, at=AT)
        last_year = roster.start_lesson(
            "c7", "t1", LessonKind.FITNESS_TEST, {}, at=datetime(2026, 5, 1, tzinfo=UTC)
        )
        values = {
            ("s-a", seven): {
                "height_cm": "160.25",
                "weight_kg": "50",
                "vital_capacity": "3000",
                "run_50m": "8.1",
                "sit_and_reach": "10.5",
                "standing_long_jump": "200",
                "run_1000m": "3:45",
                "pull_up": "8",
            },
            ("s-b", seven): {
                "height_cm": "155",
                "weight_kg": "45.5",
                "vital_capacity": "2500",
                "run_50m": "9.2",
                "sit_and_reach": "15",
                "standing_long_jump": "170",
                "run_800m": "232",
                "sit_up_1min": "40",
            },
            ("s-c", three): {
                "height_cm": "130",
                "weight_kg": "27",
                "vital_capacity": "1500",
                "run_50m": "10.5",
                "sit_and_reach": "12",
                "rope_skip_1min": "120",
                "sit_up_1min": "30",
            },
            ("s-d", three): {
                "height_cm": "132",
                "weight_kg": "29",
                "vital_capacity": "1600",
                "run_50m": "10.1",
                "sit_and_reach": "8",
                "rope_skip_1min": "110",
                "sit_up_1min": "28",
            },
            # Last school year's result must not be taken for this year's.
            ("s-a", last_year): {"pull_up": "2"},
        }
        entered = results.record(
            [
                stored.NewResult(
                    lesson.id, student, item, value, lesson.started_at, "staff", entered_by="t1"
                )
                for (student, lesson), items in values.items()
                for item, value in items.items()
            ]
        )
        assert all(isinstance(r, stored.TestResult) for r in entered), entered
        screenings = Referrals(db)
        for seq, (student, left, right) in enumerate(
            [("s-a", 4.9, 5.0), ("s-b", 4.6, 4.7), ("s-c", 5.0, 5.0), ("s-d", 5.1, 5.1)]
        ):
            screenings.record(
                "sch1",
                student,
                None,
                AT,
                "vs-1",
                seq,
                Screening(
                    {"left": left, "right": right},
                    {"left": -1.0, "right": -0.5},
                    # Only s-a's screener sent the refraction behind the spherical equivalent.
                    {"left": Refraction(-1.125, -0.5, 175), "right": Refraction(-0.5, 0.0, None)}
                    if student == "s-a"
                    else {},
                ),
                [],
            )
    finally:
        db.close()


@pytest.fixture
def school(tmp_path: Path) -> Path:
    path = tmp_path / "state.db"
    _school(path)
    return path


def _export(tmp_path: Path, state: Path, *extra: str) -> tuple[int, Path]:
    out = tmp_path / "upload.xlsx"
    code = main(
        [
            "fitness",
            "export-national",
            "--school",
            "sch1",
            "--year",
            "2026",
            "--out",
            str(out),
            "--state-db",
            str(state),
            *extra,
        ]
    )
    return code, out


def test_the_upload_sheet_column_by_column(
    tmp_path: Path, school: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = tmp_path / "registry.csv"
    registry.write_text(REGISTRY, encoding="utf-8-sig")
    code, out = _export(tmp_path, school, "--registry", str(registry))
    err = capsys.readouterr().err
    assert code == 1, err  # s-c has no 民族: left out, the others written
    book = load_workbook(out)
    assert book.sheetnames == ["体测数据", "未导出学生"]
    sheet = book["体测数据"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == HEADER
    # School order: grade 3 before grade 7; s-c (row 2) is left out.
    assert [r[3] for r in rows[1:]] == [
        "G110101201608080044",
        "G110101201305020011",
        "G110101201302140022",
    ]
    a = dict(zip(HEADER, rows[2], strict=True))
    assert a == {
        "年级编号": "21",
        "班级编号": "2",
        "班级名称": "初一2班",
        "学籍号": "G110101201305020011",
        "民族代码": "01",
        "姓名": "张三",
        "性别": "1",
        "出生日期": "2013-05-02",
        "家庭住址": None,
        "身高": 160.3,  # 160.25 rounded half up to one decimal
        "体重": 50,
        "肺活量": 3000,
        "50米跑": 8.1,
        "坐位体前屈": 10.5,
        "一分钟跳绳": None,
        "一分钟仰卧起坐": None,
        "50米×8往返跑": None,
        "立定跳远": 200,
        "800米跑": None,
        "1000米跑": "3'45",
        "引体向上": 8,  # this year's, not last year's 2
        "左眼裸眼视力": 4.9,
        "左眼屈光球镜S": -1.13,  # -1.125 half up, away from zero, to two decimals
        "左眼屈光柱镜C": -0.5,
        "左屈光轴位A": 175,
        "右眼裸眼视力": 5.0,
        "右眼屈光球镜S": -0.5,
        "右眼屈光柱镜C": 0,
        "右屈光轴位A": None,  # a sphere-only eye has no axis
    }
    # Codes are text cells, so a spreadsheet keeps 01 and the 20-character registry number.
    assert sheet["E3"].value == "01" and sheet["E3"].number_format == "@"
    assert sheet["D3"].data_type == "s" and sheet["J3"].number_format == "0.0"
    b = dict(zip(HEADER, rows[3], strict=True))
    assert (b["性别"], b["民族代码"], b["800米跑"], b["一分钟仰卧起坐"]) == ("2", "03", "3'52", 40)
    # A screening without refraction leaves those cells empty (not required by default).
    assert {b[h] for h in HEADER if "屈光" in h} == {None}
    d = dict(zip(HEADER, rows[1], strict=True))
    assert (d["年级编号"], d["班级编号"], d["民族代码"], d["一分钟跳绳"]) == ("13", "1", "08", 110)

    problems = [[c.value for c in row] for row in book["未导出学生"].iter_rows()]
    assert problems[0] == ["行", "列", "列名", "学号", "班级", "问题", "已导出"]
    left_out = [p for p in problems[1:] if p[6] == "否"]
    assert left_out == [
        [
            2,
            "E",
            "民族代码",
            "s-c",
            "三年级1班",
            "no 民族: give it in the registry file (学号,学籍号,民族)",
            "否",
        ]
    ]
    notes = [p[5] for p in problems[1:] if p[6] is None]
    assert any("'s-zz'" in n and "not on school 'sch1'" in n for n in notes)
    assert "row 2, column E (民族代码), student s-c (三年级1班): no 民族" in err
    assert "1 left out" in err


def test_without_a_registry_file_every_student_is_listed(
    tmp_path: Path, school: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _export(tmp_path, school)
    err = capsys.readouterr().err
    assert code == 1
    book = load_workbook(out)
    assert [[c.value for c in r] for r in book["体测数据"].iter_rows()] == [HEADER]
    left = [(p[0], p[1]) for p in book["未导出学生"].iter_rows(min_row=2, values_only=True) if p[6]]
    assert left == [(n, col) for n in (2, 3, 4, 5) for col in ("D", "E")]
    assert "0 students written, 4 left out" in err


def test_the_commands_lines_are_in_chinese_by_default(
    tmp_path: Path,
    school: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CAMPUSEDGE_LANGUAGE")
    code, out = _export(tmp_path, school)
    err = capsys.readouterr().err
    assert code == 1
    assert "第 2 行，D 列（" in err and "学生 " in err and "row 2" not in err
    assert f"{out}：已写入 0 名学生，4 名未写入" in err


def test_a_school_override_changes_columns_and_date_format(
    tmp_path: Path, school: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = tmp_path / "registry.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    config = tmp_path / "template.yaml"
    config.write_text(
        'birth_date_format: "%Y%m%d"\n'
        "columns:\n"
        "  - {header: 学籍号, field: registry_no, required: true}\n"
        "  - {header: 出生日期, field: birth_date, required: true}\n"
        "  - {header: 1000米跑, field: run_1000m, required: true, format: min_sec}\n",
        encoding="utf-8",
    )
    code, out = _export(
        tmp_path, school, "--registry", str(registry), "--template-config", str(config)
    )
    assert code == 0, capsys.readouterr().err  # s-c's 民族 is no longer asked for
    rows = list(load_workbook(out)["体测数据"].iter_rows(values_only=True))
    assert rows[0] == ("学籍号", "出生日期", "1000米跑")
    assert ("G110101201305020011", "20130502", "3'45") in rows
    assert ("G110101201703030033", "20170303", None) in rows  # girls do not run 1000 m


def test_refraction_in_hundredths_and_required(
    tmp_path: Path, school: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "template.yaml"
    config.write_text(
        "refraction_scale: 100\n"
        "columns:\n"
        "  - {header: 学号, field: name}\n"
        "  - {header: 左眼屈光球镜S, field: sphere_left, required: true, decimals: 0}\n"
        "  - {header: 左屈光轴位A, field: axis_left, decimals: 0}\n",
        encoding="utf-8",
    )
    code, out = _export(tmp_path, school, "--template-config", str(config))
    assert code == 1  # written for s-a; the others' screenings sent no refraction
    rows = list(load_workbook(out)["体测数据"].iter_rows(values_only=True))
    assert rows[1:] == [("张三", -113, 175)]  # 度, hundredths of a dioptre; the axis unscaled
    err = capsys.readouterr().err
    assert err.count("the screening this school year sent no refraction") == 3


def test_bad_input_writes_nothing_and_says_why(
    tmp_path: Path, school: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _export(tmp_path, school, "--school", "nowhere")
    assert code == 2 and not out.exists()
    assert "no class of school 'nowhere'" in capsys.readouterr().err
    config = tmp_path / "bad.yaml"
    config.write_text("columns:\n  - {header: 身高, field: height}\n", encoding="utf-8")
    code, out = _export(tmp_path, school, "--template-config", str(config))
    assert code == 2 and not out.exists()
    assert "unknown field 'height'" in capsys.readouterr().err
    code, out = _export(tmp_path, tmp_path / "missing.db")
    assert code == 2 and "no state database" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()


def test_codes_and_times() -> None:
    codes = load_template().ethnicity_codes
    assert len(codes) == 56 and len(set(codes.values())) == 56
    assert [ethnicity_code(v, codes) for v in ("汉族", "汉", "1", "05", "火星族")] == [
        "01",
        "01",
        "01",
        "05",
        None,
    ]
    assert [min_sec(Decimal(s)) for s in ("225", "99.5", "60")] == ["3'45", "1'40", "1'00"]
