"""The 2014 standard's tables, loaded from package data and checked into typed, immutable records.

The JSON (`data/fitness_standard_2014.json`) is a byte-for-byte copy of the project's reference
compilation, provenance, per-table sources and confidence included. Numbers are read as
`Decimal` so that a threshold like 9.6 s compares exactly with a measured 9.6 s.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Final, Literal, get_args

Sex = Literal["male", "female"]
Direction = Literal["higher_is_better", "lower_is_better"]
ItemId = Literal[
    "bmi",
    "vital_capacity",
    "run_50m",
    "sit_and_reach",
    "rope_skip_1min",
    "sit_up_1min",
    "shuttle_50x8",
    "standing_long_jump",
    "pull_up",
    "run_1000m",
    "run_800m",
]
GradeGroup = Literal["grade_1_2", "grade_3_4", "grade_5_6", "junior_senior_university"]

SEXES: Final[tuple[Sex, ...]] = get_args(Sex)
ITEM_IDS: Final[tuple[ItemId, ...]] = get_args(ItemId)
GRADES: Final[tuple[str, ...]] = (
    *(str(n) for n in range(1, 13)),
    "univ_1_2",
    "univ_3_4",
)
DATA_FILE: Final = "fitness_standard_2014.json"

GRADE_GROUP: Final[Mapping[str, GradeGroup]] = {
    **{g: "grade_1_2" for g in ("1", "2")},
    **{g: "grade_3_4" for g in ("3", "4")},
    **{g: "grade_5_6" for g in ("5", "6")},
    **{g: "junior_senior_university" for g in GRADES[6:]},
}

# The reference keeps both endurance runs in one table split by sex; the product's item ids name
# the distance, so each sex's column becomes its own item.
_TABLE_FOR_ITEM: Final[Mapping[ItemId, tuple[str, tuple[Sex, ...]]]] = {
    "vital_capacity": ("vital_capacity", SEXES),
    "run_50m": ("run_50m", SEXES),
    "sit_and_reach": ("sit_and_reach", SEXES),
    "rope_skip_1min": ("rope_skip_1min", SEXES),
    "sit_up_1min": ("sit_up_1min", SEXES),
    "shuttle_50x8": ("shuttle_50x8", SEXES),
    "standing_long_jump": ("standing_long_jump", SEXES),
    "pull_up": ("pull_up", ("male",)),
    "run_1000m": ("endurance_run", ("male",)),
    "run_800m": ("endurance_run", ("female",)),
}

# Weight keys in the reference that stand for one item per sex (初中 and up).
_SEX_SPECIFIC_WEIGHTS: Final[Mapping[str, Mapping[Sex, ItemId]]] = {
    "pull_up_male_or_sit_up_female": {"male": "pull_up", "female": "sit_up_1min"},
    "endurance_1000m_male_or_800m_female": {"male": "run_1000m", "female": "run_800m"},
}

_PRIMARY: Final = frozenset(GRADES[:6])
_SECONDARY_AND_UP: Final = frozenset(GRADES[6:])
# Bonus sections of the reference: which item, sexes and grades each one covers. The grade text in
# the JSON is prose, so it is checked against what is expected here rather than parsed.
_BONUS_SECTIONS: Final[Mapping[str, tuple[ItemId, tuple[Sex, ...], str, frozenset[str]]]] = {
    "primary_rope_skip_1min": ("rope_skip_1min", SEXES, "1-6", _PRIMARY),
    "pull_up_male": ("pull_up", ("male",), "初中, 高中, 大学", _SECONDARY_AND_UP),
    "sit_up_1min_female": ("sit_up_1min", ("female",), "初中, 高中, 大学", _SECONDARY_AND_UP),
    "run_1000m_male": ("run_1000m", ("male",), "初中, 高中, 大学", _SECONDARY_AND_UP),
    "run_800m_female": ("run_800m", ("female",), "初中, 高中, 大学", _SECONDARY_AND_UP),
}
_BONUS_MARGIN_KEYS: Final = ("extra_count", "extra_reps", "seconds_faster")

BMI_BAND_NAMES: Final = {
    "low_weight": "低体重",
    "normal": "正常",
    "overweight": "超重",
    "obese": "肥胖",
}
_EXPECTED_GRADE_LEVELS: Final = {
    "优秀": ">=90.0",
    "良好": "80.0-89.9",
    "及格": "60.0-79.9",
    "不及格": "<=59.9",
}
_TENTH: Final = Decimal("0.1")


class StandardDataError(ValueError):
    """The packaged standard does not have the shape or values the scoring relies on."""


@dataclass(frozen=True)
class Cell:
    """One published threshold: reaching `threshold` earns `score`."""

    score: int
    threshold: Decimal


@dataclass(frozen=True)
class ScoreTable:
    """One item's column for one grade and sex, with where it came from."""

    item: ItemId
    grade: str
    sex: Sex
    direction: Direction
    unit: str
    published: tuple[Decimal | None, ...]  # aligned with Standard.score_levels; None = blank cell
    cells: tuple[Cell, ...]  # the non-blank cells, best first
    sources: tuple[str, ...]
    confidence: str

    @property
    def top(self) -> Decimal:
        """The 100-point threshold, the base for bonus points."""
        return self.cells[0].threshold

    def reaches(self, value: Decimal, threshold: Decimal) -> bool:
        """Whether `value` reaches `threshold` in this item's direction."""
        if self.direction == "higher_is_better":
            return value >= threshold
        return value <= threshold


@dataclass(frozen=True)
class BmiBands:
    """BMI bands for one grade and sex, at the published one-decimal precision."""

    grade_key: str
    sex: Sex
    low_weight_max: Decimal
    normal: tuple[Decimal, Decimal]
    overweight: tuple[Decimal, Decimal]
    obese_min: Decimal
    sources: tuple[str, ...]


@dataclass(frozen=True)
class BonusRule:
    """Extra points for beating the 100-point threshold: (points, margin needed), smallest first."""

    item: ItemId
    sex: Sex
    grades: frozenset[str]
    steps: tuple[tuple[int, Decimal], ...]
    sources: tuple[str, ...]
    confidence: str


@dataclass(frozen=True)
class Standard:
    """Everything the scoring needs, indexed for lookup."""

    title: str
    official_source: str
    score_levels: tuple[int, ...]
    tables: Mapping[tuple[ItemId, str, Sex], ScoreTable]
    bmi_bands: Mapping[tuple[str, Sex], BmiBands]
    bmi_scores: Mapping[str, int]  # keyed by BMI_BAND_NAMES keys
    weights: Mapping[tuple[GradeGroup, Sex], Mapping[ItemId, int]]
    bonus_rules: Mapping[tuple[ItemId, Sex], BonusRule]
    bonus_cap: int

    def items_for(self, grade: str, sex: Sex) -> tuple[ItemId, ...]:
        """The items a student of this grade and sex is tested on, in the standard's order."""
        return tuple(self.weights[(GRADE_GROUP[grade], sex)])

    def bmi_bands_for(self, grade: str, sex: Sex) -> BmiBands:
        """BMI bands; the reference publishes one set for all university years."""
        key = "univ" if grade.startswith("univ") else grade
        return self.bmi_bands[(key, sex)]

    def bonus_rule(self, item: ItemId, grade: str, sex: Sex) -> BonusRule | None:
        """The bonus rule for an item, or None when the item earns no bonus at this grade."""
        rule = self.bonus_rules.get((item, sex))
        return rule if rule is not None and grade in rule.grades else None


def _fail(where: str, what: str) -> StandardDataError:
    return StandardDataError(f"{DATA_FILE}: {where}: {what}")


def _dec(raw: Any, where: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
        raise _fail(where, f"expected a number, found {raw!r}")
    return Decimal(raw)


def _sources(raw: Any, sex: str) -> tuple[str, ...]:
    if isinstance(raw, dict):
        raw = raw.get(sex, [])
    return tuple(str(s) for s in raw) if isinstance(raw, list) else ()


def _load_table(
    item: ItemId, table_key: str, raw: dict[str, Any], grade: str, sex: Sex, levels: tuple[int, ...]
) -> ScoreTable:
    where = f"tables.{table_key}.grades.{grade}.{sex}"
    row = raw["grades"][grade][sex]
    if not isinstance(row, list) or len(row) != len(levels):
        raise _fail(where, f"expected {len(levels)} thresholds, one per score level")
    direction = raw["direction"]
    if direction not in get_args(Direction):
        raise _fail(f"tables.{table_key}.direction", f"unknown direction {direction!r}")
    published = tuple(None if v is None else _dec(v, where) for v in row)
    cells = tuple(Cell(s, t) for s, t in zip(levels, published, strict=True) if t is not None)
    if not cells or cells[0].score != 100:
        raise _fail(where, "the 100-point cell is blank; bonus points need it")
    for better, worse in itertools.pairwise(cells):
        ordered = (
            better.threshold > worse.threshold
            if direction == "higher_is_better"
            else better.threshold < worse.threshold
        )
        if not ordered:
            raise _fail(where, f"thresholds for {better.score} and {worse.score} are out of order")
    info = raw["grades"][grade]
    confidence = info.get("confidence", {}).get(sex)
    if not isinstance(confidence, str):
        raise _fail(where, "no confidence recorded")
    return ScoreTable(
        item=item,
        grade=grade,
        sex=sex,
        direction=direction,
        unit=str(raw["unit"]),
        published=published,
        cells=cells,
        sources=_sources(info.get("sources"), sex),
        confidence=confidence,
    )


def _load_bmi(raw: dict[str, Any]) -> tuple[dict[tuple[str, Sex], BmiBands], dict[str, int]]:
    scores_cn = raw["scores"]
    scores = {key: int(scores_cn[cn]) for key, cn in BMI_BAND_NAMES.items()}
    bands: dict[tuple[str, Sex], BmiBands] = {}
    for grade_key in (*GRADES[:12], "univ"):
        for sex in SEXES:
            where = f"bmi.grades.{grade_key}.{sex}"
            b = raw["grades"][grade_key][sex]
            band = BmiBands(
                grade_key=grade_key,
                sex=sex,
                low_weight_max=_dec(b["low_weight_max"], where),
                normal=(_dec(b["normal"][0], where), _dec(b["normal"][1], where)),
                overweight=(_dec(b["overweight"][0], where), _dec(b["overweight"][1], where)),
                obese_min=_dec(b["obese_min"], where),
                sources=_sources(raw["grades"][grade_key].get("sources"), sex),
            )
            # After rounding to one decimal every BMI must fall in exactly one band.
            edges = (
                (band.low_weight_max, band.normal[0]),
                (band.normal[1], band.overweight[0]),
                (band.overweight[1], band.obese_min),
            )
            if any(hi + _TENTH != lo for hi, lo in edges) or band.normal[0] > band.normal[1]:
                raise _fail(where, "bands are not contiguous at 0.1 precision")
            bands[(grade_key, sex)] = band
    return bands, scores


def _load_weights(raw: dict[str, Any]) -> dict[tuple[GradeGroup, Sex], dict[ItemId, int]]:
    common = raw["all_grades"]
    weights: dict[tuple[GradeGroup, Sex], dict[ItemId, int]] = {}
    for group in get_args(GradeGroup):
        for sex in SEXES:
            per_item: dict[ItemId, int] = {}
            for key, weight in {**common, **raw[group]}.items():
                if key in _SEX_SPECIFIC_WEIGHTS:
                    item = _SEX_SPECIFIC_WEIGHTS[key][sex]
                elif key in ITEM_IDS:
                    item = key
                else:
                    raise _fail(f"weights_percent.{group}", f"unknown item {key!r}")
                per_item[item] = int(weight)
            if sum(per_item.values()) != 100:
                raise _fail(f"weights_percent.{group}", "weights do not add up to 100")
            weights[(group, sex)] = per_item
    return weights


def _load_bonus(raw: dict[str, Any]) -> dict[tuple[ItemId, Sex], BonusRule]:
    rules: dict[tuple[ItemId, Sex], BonusRule] = {}
    for key, (item, sexes, grade_text, grades) in _BONUS_SECTIONS.items():
        section = raw[key]
        if section["grades"] != grade_text:
            raise _fail(f"bonus.{key}.grades", f"expected {grade_text!r}, the code assumes it")
        steps: list[tuple[int, Decimal]] = []
        for i, step in enumerate(section["table"]):
            margin_keys = [k for k in _BONUS_MARGIN_KEYS if k in step]
            if len(margin_keys) != 1:
                raise _fail(f"bonus.{key}.table[{i}]", "expected exactly one margin field")
            steps.append((int(step["bonus"]), _dec(step[margin_keys[0]], f"bonus.{key}")))
        if any(b1 >= b2 or m1 >= m2 for (b1, m1), (b2, m2) in itertools.pairwise(steps)):
            raise _fail(f"bonus.{key}.table", "steps must grow in both points and margin")
        for sex in sexes:
            rules[(item, sex)] = BonusRule(
                item=item,
                sex=sex,
                grades=grades,
                steps=tuple(steps),
                sources=tuple(str(s) for s in section.get("sources", [])),
                confidence=str(section.get("confidence", "")),
            )
    return rules


def parse_standard(text: str) -> Standard:
    """Build a Standard from the reference JSON text; raises StandardDataError on any mismatch."""
    try:
        raw = json.loads(text, parse_float=Decimal)
        levels = tuple(int(v) for v in raw["score_levels"])
        if levels[0] != 100 or levels[-1] != 10 or list(levels) != sorted(levels, reverse=True):
            raise _fail("score_levels", "expected descending levels from 100 to 10")
        if {k: raw["grade_levels"][k] for k in _EXPECTED_GRADE_LEVELS} != _EXPECTED_GRADE_LEVELS:
            raise _fail("grade_levels", "cut-offs differ from the ones the scoring implements")
        tables: dict[tuple[ItemId, str, Sex], ScoreTable] = {}
        for item_id, (table_key, sexes) in _TABLE_FOR_ITEM.items():
            raw_table = raw["tables"][table_key]
            for grade in raw_table["grades"]:
                if grade not in GRADES:
                    raise _fail(f"tables.{table_key}.grades", f"unknown grade {grade!r}")
                for sex in sexes:
                    if raw_table["grades"][grade].get(sex) is not None:
                        tables[(item_id, grade, sex)] = _load_table(
                            item_id, table_key, raw_table, grade, sex, levels
                        )
        bmi_bands, bmi_scores = _load_bmi(raw["bmi"])
        weights = _load_weights(raw["weights_percent"])
        bonus_rules = _load_bonus(raw["bonus"])
        cap = int(raw["bonus"]["total_bonus_cap"])
    except (KeyError, TypeError, IndexError) as exc:
        raise StandardDataError(f"{DATA_FILE}: missing or malformed entry: {exc!r}") from exc
    # Read-only views: one Standard is shared by every caller in the process.
    standard = Standard(
        title=str(raw["title"]),
        official_source=str(raw["official_source"]),
        score_levels=levels,
        tables=MappingProxyType(tables),
        bmi_bands=MappingProxyType(bmi_bands),
        bmi_scores=MappingProxyType(bmi_scores),
        weights=MappingProxyType({k: MappingProxyType(v) for k, v in weights.items()}),
        bonus_rules=MappingProxyType(bonus_rules),
        bonus_cap=cap,
    )
    # Every item a student is weighted on must have a table for every grade of the group.
    for grade in GRADES:
        for sex in SEXES:
            for item in standard.items_for(grade, sex):
                if item != "bmi" and (item, grade, sex) not in tables:
                    raise _fail("tables", f"no {item} table for grade {grade} {sex}")
    return standard


@cache
def load_standard() -> Standard:
    """The packaged 2014 standard (parsed once; the result is immutable)."""
    text = resources.files("gateway.fitness").joinpath("data", DATA_FILE).read_text("utf-8")
    return parse_standard(text)
