"""Column headers and grade names of fitness files as Chinese schools write them."""

from __future__ import annotations

from typing import Final

# The test items by the names the National Student Physical Fitness Standard (2014 revision)
# prints, with the spellings spreadsheets commonly use for the same column.
ITEM_HEADERS: Final[dict[str, str]] = {
    "身高": "height_cm",
    "身高(cm)": "height_cm",
    "体重": "weight_kg",
    "体重(kg)": "weight_kg",
    "肺活量": "vital_capacity",
    "50米跑": "run_50m",
    "坐位体前屈": "sit_and_reach",
    "1分钟跳绳": "rope_skip_1min",
    "一分钟跳绳": "rope_skip_1min",
    "1分钟仰卧起坐": "sit_up_1min",
    "一分钟仰卧起坐": "sit_up_1min",
    "50米×8往返跑": "shuttle_50x8",
    "50米x8往返跑": "shuttle_50x8",
    "50米*8往返跑": "shuttle_50x8",
    "立定跳远": "standing_long_jump",
    "引体向上": "pull_up",
    "1000米跑": "run_1000m",
    "800米跑": "run_800m",
    "体重指数": "bmi",
    "体重指数(BMI)": "bmi",
}
# The student's columns: 学号 (school number) and 学籍号 (national registry number) both
# identify the student in a results file.
PERSON_HEADERS: Final[dict[str, str]] = {
    "学号": "id",
    "学籍号": "id",
    "编号": "id",
    "考号": "id",
    "性别": "sex",
    "年级": "grade",
    "项目": "item",
    "成绩": "value",
    "姓名": "name",
    "班级": "class",
}
HEADERS: Final[dict[str, str]] = {**ITEM_HEADERS, **PERSON_HEADERS}

# What this project writes for people reading Chinese, one name per item: the first spelling
# above, the standard's own.
ITEM_NAMES: Final[dict[str, str]] = {item: name for name, item in reversed(ITEM_HEADERS.items())}
# The standard's 评定等级 and the other columns of a results table.
LEVEL_NAMES: Final[dict[str, str]] = {
    "excellent": "优秀",
    "good": "良好",
    "pass": "及格",
    "fail": "不及格",
}
SEX_NAMES: Final[dict[str, str]] = {"M": "男", "F": "女"}
COLUMN_NAMES: Final[dict[str, str]] = {
    "student_id": "学号",
    "name": "姓名",
    "sex": "性别",
    "standard_score": "标准分",
    "bonus": "附加分",
    "total": "总分",
    "level": "等级",
}
# An item's score and bonus columns: 50米跑得分, 1分钟跳绳附加分.
SCORE_SUFFIX: Final = "得分"
BONUS_SUFFIX: Final = "附加分"


def chinese_column(column: str) -> str:
    """The Chinese header of one of our column ids (run_50m_score: 50米跑得分); an id without
    one as it is."""
    for suffix, name in (("_score", SCORE_SUFFIX), ("_bonus", BONUS_SUFFIX)):
        item = column.removesuffix(suffix)
        if item != column and item in ITEM_NAMES:
            return ITEM_NAMES[item] + name
    return ITEM_NAMES.get(column) or COLUMN_NAMES.get(column, column)


_NUMERALS = "一二三四五六七八九"
# 一年级..九年级, 初一..初三 (grades 7-9), 高一..高三 (10-12).
GRADE_NAMES: Final[dict[str, str]] = {
    **{f"{_NUMERALS[n - 1]}年级": str(n) for n in range(1, 10)},
    **{f"初{_NUMERALS[n - 1]}": str(6 + n) for n in range(1, 4)},
    **{f"高{_NUMERALS[n - 1]}": str(9 + n) for n in range(1, 4)},
}


def column_id(header: str) -> str:
    """Our id for a column header: a Chinese name as above, else the header as written
    (ignoring case and the spaces and full-width brackets spreadsheets add)."""
    text = header.strip().replace("（", "(").replace("）", ")").replace(" ", "")
    return HEADERS.get(text, header.strip())
