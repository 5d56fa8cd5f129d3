"""Checking what a teacher typed: grade, sex and measured values with their units and sane ranges.

The ranges are the project's own choice (documented in docs/fitness.md), not part of the
standard: wide enough for any real student, narrow enough to catch a wrong unit (litres for
millilitres, metres for centimetres, minutes for seconds) or a typing slip.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from gateway.fitness.headers import GRADE_NAMES, ITEM_NAMES
from gateway.fitness.standard import GRADES, ITEM_IDS, ItemId, Sex
from gateway.i18n import N_, Translator, Worded
from gateway.roster import sex_letter


class FieldError(ValueError):
    """Bad input in one named field; `field` is the item, key or column to fix.

    With *values*, *message* is a catalog message (marked with N_) and `message` its English
    text, so that a page can word it in the reader's language (`words`); without, the text
    as it is.
    """

    def __init__(self, field: str, message: str, **values: object) -> None:
        text = message.format(**values) if values else message
        super().__init__(f"{field}: {text}")
        self.field = field
        self.message = text
        self.template = message
        self.values = values

    def worded(self) -> Worded | str:
        """The message for a refusal's placeholder: worded in the reader's language."""
        return Worded(self.template, **self.values) if self.values else self.message

    def words(self, translator: Translator) -> str:
        worded = self.worded()
        return worded.words(translator) if isinstance(worded, Worded) else worded


class Term(Worded):
    """A word inside a message that comes from data, not the catalog (an item's id and the
    standard's Chinese name for it, a unit): English as files and the CLI write it."""

    def __init__(self, english: str, chinese: str) -> None:
        super().__init__("{english}", english=english)
        self.english, self.chinese = english, chinese

    def words(self, translator: Translator) -> str:
        return self.chinese if translator.language.startswith("zh") else self.english


def item_term(name: str) -> Term:
    return Term(name, ITEM_NAMES.get(name, name))


@dataclass(frozen=True)
class ValueSpec:
    """Unit and plausible range of one measurement."""

    unit: str
    low: Decimal
    high: Decimal
    integer: bool = False
    clock: bool = False  # "m:ss" accepted (long runs only)
    # A value below this is almost surely in a larger unit; the hint says which.
    wrong_unit_below: Decimal | None = None
    wrong_unit_hint: str = ""


def _d(text: str) -> Decimal:
    return Decimal(text)


SPECS: Final[Mapping[str, ValueSpec]] = {
    "bmi": ValueSpec("kg/m²", _d("5"), _d("80")),
    "vital_capacity": ValueSpec(
        "mL", _d("200"), _d("10000"), wrong_unit_below=_d("20"), wrong_unit_hint="litres"
    ),
    "run_50m": ValueSpec("s", _d("5"), _d("30")),
    "sit_and_reach": ValueSpec("cm", _d("-50"), _d("60")),
    "rope_skip_1min": ValueSpec("count", _d("0"), _d("400"), integer=True),
    "sit_up_1min": ValueSpec("count", _d("0"), _d("100"), integer=True),
    "shuttle_50x8": ValueSpec(
        "s", _d("60"), _d("400"), clock=True, wrong_unit_below=_d("10"), wrong_unit_hint="minutes"
    ),
    "standing_long_jump": ValueSpec(
        "cm", _d("30"), _d("400"), wrong_unit_below=_d("5"), wrong_unit_hint="metres"
    ),
    "pull_up": ValueSpec("count", _d("0"), _d("60"), integer=True),
    "run_1000m": ValueSpec(
        "s", _d("120"), _d("1200"), clock=True, wrong_unit_below=_d("20"), wrong_unit_hint="minutes"
    ),
    "run_800m": ValueSpec(
        "s", _d("100"), _d("1200"), clock=True, wrong_unit_below=_d("20"), wrong_unit_hint="minutes"
    ),
    "height_cm": ValueSpec(
        "cm", _d("50"), _d("250"), wrong_unit_below=_d("3"), wrong_unit_hint="metres"
    ),
    "weight_kg": ValueSpec("kg", _d("10"), _d("250")),
}

_UNIT_WORDS: Final = {"s": "seconds", "cm": "centimetres", "mL": "millilitres", "kg": "kilograms"}
_UNIT_CHINESE: Final = {"s": "秒", "cm": "厘米", "mL": "毫升", "kg": "千克", "count": "次"}
_HINT_CHINESE: Final = {"litres": "升", "minutes": "分钟", "metres": "米"}


def _unit_term(unit: str) -> Term:
    return Term(_UNIT_WORDS.get(unit, unit), _UNIT_CHINESE.get(unit, unit))


_CLOCK: Final = re.compile(r"^(\d{1,2}):([0-5]\d(?:\.\d+)?)$")
_LIMIT: Final = Decimal("1e9")


_UNIT_SPELLINGS: Final = {
    "s": {"s", "sec", "secs", "second", "seconds", "秒"},
    "cm": {"cm", "centimetre", "centimetres", "centimeter", "centimeters", "厘米"},
    "mL": {"ml", "millilitre", "millilitres", "milliliter", "milliliters", "毫升"},
    "count": {"count", "counts", "reps", "times", "次", "个"},
    "kg/m²": {"kg/m²", "kg/m2", "kg/m^2"},
    "kg": {"kg", "kilogram", "kilograms", "公斤", "千克"},
}


def check_unit(name: str, raw: object, field: str = "unit") -> None:
    """An optional unit given with a value must be the item's own unit (no conversions)."""
    unit = SPECS[name].unit
    if not (isinstance(raw, str) and raw.strip().lower() in _UNIT_SPELLINGS[unit]):
        raise FieldError(
            field,
            N_("wrong unit {typed} for {item}: give it in {symbol}"),
            typed=show(raw),
            item=item_term(name),
            symbol=unit,
        )


def show(raw: object) -> str:
    """A value as the person typed it: numbers plain, text quoted."""
    if isinstance(raw, int | Decimal | float) and not isinstance(raw, bool):
        return str(raw)
    return repr(raw)


def parse_grade(raw: object, field: str = "grade") -> str:
    """A grade key: "1".."12", "univ_1_2" or "univ_3_4" (a whole number 1..12 is accepted too,
    and the Chinese names 一年级..九年级, 初一..初三, 高一..高三)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    elif isinstance(raw, Decimal) and raw.is_finite() and raw == raw.to_integral_value():
        raw = str(int(raw))
    if isinstance(raw, str) and raw.strip() in GRADES:
        return raw.strip()
    if isinstance(raw, str) and raw.strip() in GRADE_NAMES:
        return GRADE_NAMES[raw.strip()]
    raise FieldError(field, f"unknown grade {show(raw)}; expected one of {', '.join(GRADES)}")


def parse_sex(raw: object, field: str = "sex") -> Sex:
    """The sex column, spelled as the roster accepts it (`gateway.roster.sex_letter`)."""
    try:
        return "male" if sex_letter(raw if isinstance(raw, str) else "") == "M" else "female"
    except ValueError:
        raise FieldError(
            field, f"unknown sex {show(raw)}; expected 男/女, male/female, M/F or 1/2"
        ) from None


def parse_item(raw: object, field: str = "item") -> ItemId:
    """One of the item ids."""
    for item in ITEM_IDS:
        if raw == item:
            return item
    raise FieldError(field, f"unknown item {show(raw)}; expected one of {', '.join(ITEM_IDS)}")


def _to_decimal(raw: object, spec: ValueSpec, name: str, field: str) -> Decimal:
    unit, item, typed = _unit_term(spec.unit), item_term(name), show(raw)
    if isinstance(raw, bool) or raw is None:
        raise FieldError(
            field,
            N_("{item} needs a number of {unit}, got {typed}"),
            item=item,
            unit=unit,
            typed=typed,
        )
    if isinstance(raw, int | Decimal):
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(repr(raw))  # the shortest decimal that round-trips, not binary noise
    elif isinstance(raw, str):
        text = raw.strip()
        clock = _CLOCK.match(text)
        if clock and spec.clock:
            return Decimal(int(clock.group(1)) * 60) + Decimal(clock.group(2))
        if ":" in text or "'" in text or '"' in text:
            raise FieldError(
                field,
                N_("wrong unit: {item} is in {unit}, not minutes ({typed})"),
                item=item,
                unit=unit,
                typed=typed,
            )
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise FieldError(
                field,
                N_("{typed} is not a plain number; {item} is in {unit} ({symbol})"),
                typed=typed,
                item=item,
                unit=unit,
                symbol=spec.unit,
            ) from None
    else:
        raise FieldError(
            field,
            N_("{item} needs a number of {unit}, got {typed}"),
            item=item,
            unit=unit,
            typed=type(raw).__name__,
        )
    if not value.is_finite() or abs(value) > _LIMIT:
        raise FieldError(field, N_("impossible value {typed} for {item}"), typed=typed, item=item)
    return value


def parse_measure(name: str, raw: object, field: str | None = None) -> Decimal:
    """A measured value for `name` (an item id, "height_cm" or "weight_kg") in canonical units.

    Runs may be given as "m:ss" (e.g. "3:45" = 225 s); everything else is a plain number.
    """
    spec = SPECS[name]
    where = field or name
    value = _to_decimal(raw, spec, name, where)
    unit, item, typed = _unit_term(spec.unit), item_term(name), show(raw)
    if spec.wrong_unit_below is not None and Decimal(0) < value < spec.wrong_unit_below:
        hint = spec.wrong_unit_hint
        raise FieldError(
            where,
            N_("wrong unit: {typed} looks like {hint}; {item} is in {unit}"),
            typed=typed,
            hint=Term(hint, _HINT_CHINESE.get(hint, hint)),
            item=item,
            unit=unit,
        )
    if not spec.low <= value <= spec.high:
        raise FieldError(
            where,
            N_("impossible value {typed} for {item}: expected {low}..{high} {symbol}"),
            typed=typed,
            item=item,
            low=spec.low,
            high=spec.high,
            symbol=spec.unit,
        )
    if spec.integer and value != value.to_integral_value():
        raise FieldError(
            where, N_("{item} is a count; {typed} is not a whole number"), item=item, typed=typed
        )
    return value
