"""The national upload template's column map: packaged defaults a school may override in YAML."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from campusedge.words import N_, Shown
from gateway.fitness.standard import ITEM_IDS

DEFAULT_FILE: Final = "national_template.yaml"
EYES: Final = ("left", "right")
PERSON_FIELDS: Final = (
    "grade_code",
    "class_code",
    "class_name",
    "registry_no",
    "ethnicity_code",
    "name",
    "sex_code",
    "birth_date",
    "address",
)
MEASURE_FIELDS: Final = ("height_cm", "weight_kg", *(i for i in ITEM_IDS if i != "bmi"))
VISION_FIELDS: Final = tuple(
    f"{what}_{eye}" for what in ("acuity", "sphere", "cylinder", "axis") for eye in EYES
)
FIELDS: Final = frozenset((*PERSON_FIELDS, *MEASURE_FIELDS, *VISION_FIELDS))


class TemplateError(Shown, ValueError):
    """A template configuration that cannot be used; the message names the file and key."""


def _where(path: Path | None) -> str | Shown:
    return str(path) if path else Shown(N_("packaged {file}"), file=DEFAULT_FILE)


class Column(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    header: str = Field(min_length=1)
    field: str
    required: bool = False
    decimals: int | None = Field(default=None, ge=0, le=4)
    format: Literal["number", "min_sec"] = "number"

    @model_validator(mode="after")
    def _known_field(self) -> Column:
        if self.field not in FIELDS:
            raise ValueError(
                f"column {self.header!r}: unknown field {self.field!r}; expected one of "
                + ", ".join(sorted(FIELDS))
            )
        return self


class Template(BaseModel):
    """What the upload file looks like: columns in order and the codes written into them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sheet_title: str = Field(min_length=1, max_length=31)
    problems_sheet_title: str = Field(min_length=1, max_length=31)
    columns: tuple[Column, ...] = Field(min_length=1)
    grade_codes: dict[str, str]
    sex_codes: dict[str, str]
    birth_date_format: str = Field(min_length=1)
    acuity_floor: float
    acuity_below_floor: str
    # Sphere and cylinder are stored in dioptres; 1 writes dioptres, 100 writes hundredths
    # (度), which the platform's example values may be (docs/fitness.md: not confirmed).
    refraction_scale: float = Field(default=1.0, gt=0)
    ethnicity_codes: dict[str, str]

    @model_validator(mode="after")
    def _distinct(self) -> Template:
        headers = [c.header for c in self.columns]
        twice = sorted({h for h in headers if headers.count(h) > 1})
        if twice:
            raise ValueError(f"column header(s) given twice: {', '.join(twice)}")
        if set(self.sex_codes) != {"M", "F"}:
            raise ValueError("sex_codes must give a code for M and for F, and nothing else")
        return self


def _read(path: Path | None) -> dict[str, Any]:
    where = _where(path)
    try:
        text = (
            path.read_text("utf-8")
            if path
            else resources.files("gateway.fitness")
            .joinpath("data", DEFAULT_FILE)
            .read_text("utf-8")
        )
        data = yaml.safe_load(text)
    except OSError as exc:
        raise TemplateError(
            N_("template config {where}: cannot read: {reason}"), where=where, reason=exc
        ) from None
    except UnicodeDecodeError:
        raise TemplateError(N_("template config {where}: not UTF-8 text"), where=where) from None
    except yaml.YAMLError as exc:
        raise TemplateError(
            N_("template config {where}: not valid YAML: {reason}"), where=where, reason=exc
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TemplateError(
            N_("template config {where}: expected a mapping of keys at the top"), where=where
        )
    return data


def load_template(override: Path | None = None) -> Template:
    """The packaged template, with the top-level keys of *override* (a YAML file) replacing
    the packaged ones; TemplateError naming the file and key when the result is not valid."""
    data = _read(None)
    if override is not None:
        data.update(_read(override))
    try:
        return Template.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'top level'}: {e['msg']}" for e in exc.errors()
        )
        raise TemplateError(
            N_("template config {where}: {problems}"), where=_where(override), problems=problems
        ) from None
