"""Names in pinyin order, as Chinese class lists are kept."""

from __future__ import annotations

from gateway.names import by_name, pinyin_key


def test_chinese_names_sort_by_pinyin_not_by_code_point() -> None:
    names = ["张三", "李小红", "王小明", "赵磊", "阿依古丽", "陈静"]
    # By code point 张 (U+5F20) would come before 李 (U+674E) and 王 (U+738B).
    assert sorted(names) != by_name(names, str, str)
    assert by_name(names, str, str) == ["阿依古丽", "陈静", "李小红", "王小明", "张三", "赵磊"]


def test_same_sounding_and_same_names_keep_one_order() -> None:
    assert pinyin_key("王小明") == ("wang2 xiao3 ming2", "王小明")
    # 张伟 and 章伟 read alike: the characters decide, so the order never flips between calls.
    assert by_name(["章伟", "张伟"], str, str) == by_name(["张伟", "章伟"], str, str)
    # Three 赵磊 in one class: the student id orders them.
    students = [("S0103", "赵磊"), ("S0101", "赵磊"), ("S0102", "赵磊")]
    ordered = by_name(students, lambda s: s[1], lambda s: s[0])
    assert [s[0] for s in ordered] == ["S0101", "S0102", "S0103"]


def test_latin_names_sort_without_case_among_chinese_ones() -> None:
    assert by_name(["Zoe", "李雷", "abby", "韩梅梅"], str, str) == ["abby", "韩梅梅", "李雷", "Zoe"]
