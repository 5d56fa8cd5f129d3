"""Small counts are hidden, and one hidden count cannot be worked back out of a total."""

from __future__ import annotations

from gateway.district.small_cells import hidden, share, suppress


def test_from_one_to_below_the_minimum_is_hidden_and_none_is_shown() -> None:
    assert [hidden(n, 5) for n in (0, 1, 4, 5, 9)] == [False, True, True, False, False]


def test_a_lone_hidden_count_takes_the_smallest_other_with_it() -> None:
    # 3 alone hidden: 20 - 9 - 8 would give it back; so 8 goes too.
    assert suppress({"excellent": 9, "good": 8, "pass": 3, "fail": 0}, 5) == {
        "excellent": 9,
        "good": None,
        "pass": None,
        "fail": 0,
    }


def test_two_hidden_counts_need_no_more_and_large_ones_stay() -> None:
    assert suppress({"a": 2, "b": 1, "c": 30}, 5) == {"a": None, "b": None, "c": 30}
    assert suppress({"a": 5, "b": 0, "c": 7}, 5) == {"a": 5, "b": 0, "c": 7}


def test_a_hidden_count_has_no_share() -> None:
    assert share(None, 20) is None and share(3, 0) is None
    assert share(7, 20) == 0.35
