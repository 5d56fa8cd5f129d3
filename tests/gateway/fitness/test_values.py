"""Input checking: units, impossible values, counts, grade/sex/item names; fuzzed for crashes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.fitness.standard import GRADES, ITEM_IDS, SEXES
from gateway.fitness.values import (
    SPECS,
    FieldError,
    check_unit,
    parse_grade,
    parse_item,
    parse_measure,
    parse_sex,
)


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("run_50m", 9.6, Decimal("9.6")),  # a binary float arrives as the decimal that was typed
        ("run_50m", Decimal("9.6"), Decimal("9.6")),
        ("run_50m", "9.6", Decimal("9.6")),
        ("run_1000m", "3:45", Decimal(225)),
        ("run_800m", "4:05.5", Decimal("245.5")),
        ("shuttle_50x8", "1:52", Decimal(112)),
        ("run_1000m", 225, Decimal(225)),
        ("sit_and_reach", "-3.5", Decimal("-3.5")),  # behind the toes is a real result
        ("pull_up", 0, Decimal(0)),
        ("vital_capacity", " 2500 ", Decimal(2500)),
        ("bmi", "18.55", Decimal("18.55")),
    ],
)
def test_accepted(name: str, raw: object, value: Decimal) -> None:
    assert parse_measure(name, raw) == value


@pytest.mark.parametrize(
    ("name", "raw", "words"),
    [
        ("run_50m", 2, "impossible"),
        ("run_50m", 300, "impossible"),
        ("run_50m", "7:30", "wrong unit"),
        ("run_50m", "9.6s", "not a plain number"),
        ("run_1000m", 3.5, "wrong unit"),  # minutes
        ("run_1000m", "3'45\"", "wrong unit"),
        ("vital_capacity", 2.5, "wrong unit"),  # litres
        ("vital_capacity", 0, "impossible"),
        ("vital_capacity", -100, "impossible"),
        ("standing_long_jump", "1.85", "wrong unit"),  # metres
        ("pull_up", 200, "impossible"),
        ("pull_up", -1, "impossible"),
        ("pull_up", "7.5", "whole number"),
        ("rope_skip_1min", 1000, "impossible"),
        ("height_cm", "1.62", "wrong unit"),
        ("bmi", 0, "impossible"),
        ("bmi", "NaN", "impossible"),
        ("bmi", "Infinity", "impossible"),
        ("bmi", True, "needs a number"),
        ("bmi", None, "needs a number"),
        ("bmi", [], "needs a number"),
    ],
)
def test_rejected_with_the_field_named(name: str, raw: object, words: str) -> None:
    with pytest.raises(FieldError) as err:
        parse_measure(name, raw, field="value")
    assert err.value.field == "value"
    assert words in err.value.message
    assert name in err.value.message or words == "not a plain number"


def test_optional_unit_must_be_the_items_own() -> None:
    check_unit("run_1000m", "s")
    check_unit("vital_capacity", "mL")
    check_unit("pull_up", "次")
    for name, unit in (("run_1000m", "min"), ("vital_capacity", "L"), ("sit_and_reach", "mm")):
        with pytest.raises(FieldError) as err:
            check_unit(name, unit)
        assert err.value.field == "unit" and name in err.value.message


def test_names() -> None:
    assert parse_grade("univ_3_4") == "univ_3_4"
    assert parse_grade(7) == "7"
    assert parse_grade(Decimal(12)) == "12"
    assert parse_sex(" Female ") == "female"
    # The roster's spelling is accepted too, in any case.
    assert [parse_sex(s) for s in ("m", "M", "f", " F ")] == ["male", "male", "female", "female"]
    assert parse_item("run_800m") == "run_800m"
    for parse, bad in ((parse_grade, "13"), (parse_grade, "univ"), (parse_sex, "mf")):
        with pytest.raises(FieldError):
            parse(bad)
    with pytest.raises(FieldError) as err:
        parse_item("run_400m")
    assert err.value.field == "item"


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(sorted(SPECS)),
    raw=st.one_of(
        st.text(max_size=12),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.none(),
        st.booleans(),
    ),
)
def test_fuzz_only_field_errors(name: str, raw: object) -> None:
    """Whatever arrives, the answer is a value in range or a FieldError, never a crash."""
    try:
        value = parse_measure(name, raw)
    except FieldError as err:
        assert err.field == name
    else:
        assert SPECS[name].low <= value <= SPECS[name].high


@settings(max_examples=200, deadline=None)
@given(
    raw=st.one_of(
        st.text(max_size=10),
        st.integers(),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.floats(allow_nan=True),
        st.none(),
        st.booleans(),
    )
)
def test_fuzz_names_only_field_errors(raw: object) -> None:
    for parse, allowed in ((parse_grade, GRADES), (parse_sex, SEXES), (parse_item, ITEM_IDS)):
        try:
            value = parse(raw)  # type: ignore[operator]
        except FieldError as err:
            assert err.field in {"grade", "sex", "item"}
        else:
            assert value in allowed
