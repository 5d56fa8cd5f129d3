"""The Chinese names an export writes are the 2014 standard's, from the table the import reads."""

from __future__ import annotations

from typing import get_args

from gateway.fitness.headers import (
    ITEM_NAMES,
    LEVEL_NAMES,
    SEX_NAMES,
    chinese_column,
    column_id,
)
from gateway.fitness.scoring import Level
from gateway.fitness.standard import ITEM_IDS

# As the National Student Physical Fitness Standard (2014 revision) prints them.
STANDARD_NAMES = {
    "height_cm": "身高",
    "weight_kg": "体重",
    "vital_capacity": "肺活量",
    "run_50m": "50米跑",
    "sit_and_reach": "坐位体前屈",
    "rope_skip_1min": "1分钟跳绳",
    "sit_up_1min": "1分钟仰卧起坐",
    "shuttle_50x8": "50米×8往返跑",
    "standing_long_jump": "立定跳远",
    "pull_up": "引体向上",
    "run_1000m": "1000米跑",
    "run_800m": "800米跑",
}


def test_every_item_has_the_standards_name_and_reads_back() -> None:
    assert {k: ITEM_NAMES[k] for k in STANDARD_NAMES} == STANDARD_NAMES
    for item in (*ITEM_IDS, "height_cm", "weight_kg"):
        assert column_id(ITEM_NAMES[item]) == item


def test_score_bonus_and_total_columns() -> None:
    assert chinese_column("run_50m_score") == "50米跑得分"
    assert chinese_column("rope_skip_1min_bonus") == "1分钟跳绳附加分"
    assert chinese_column("shuttle_50x8") == "50米×8往返跑"
    assert [chinese_column(c) for c in ("student_id", "sex", "total", "level", "bonus")] == [
        "学号",
        "性别",
        "总分",
        "等级",
        "附加分",
    ]
    # A column without a Chinese name stays as it is rather than turning blank.
    assert chinese_column("not_a_column_score") == "not_a_column_score"


def test_levels_and_sexes() -> None:
    assert set(LEVEL_NAMES) == set(get_args(Level))
    assert [LEVEL_NAMES[x] for x in ("excellent", "good", "pass", "fail")] == [
        "优秀",
        "良好",
        "及格",
        "不及格",
    ]
    assert SEX_NAMES == {"M": "男", "F": "女"}
