"""The registry file beside the roster: each student's 学籍号 and 民族, read from a school's CSV.

The roster does not hold the national registry number or the nationality; the national upload
needs both, so a school gives them in a CSV with a header row:

    学号,学籍号,民族
    s-001,G110101201401010011,汉族

The id column may be headed 学号 or student_id, the registry number 学籍号 or registry_no, the
nationality 民族, 民族代码 or ethnicity (a name of GB 3304-91 such as 汉族, or its two-digit code).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Final

from gateway.i18n import N_, Worded
from gateway.roster import MixedEncoding, RosterError, decode_csv

ID_HEADERS: Final = ("学号", "student_id")
REGISTRY_HEADERS: Final = ("学籍号", "registry_no")
ETHNICITY_HEADERS: Final = ("民族", "民族代码", "ethnicity")
# Letters and digits only: the national number is "G" and the 18 characters of an ID card;
# some provinces issue their own forms, so only the character set and length are checked.
REGISTRY_NO: Final = re.compile(r"[0-9A-Za-z]{6,32}")


class RegistryError(Worded, ValueError):
    """A registry file that cannot be read at all (no header, no id column, not CSV)."""


@dataclass(frozen=True)
class RegistryEntry:
    registry_no: str | None
    ethnicity_code: str | None


@dataclass(frozen=True)
class RegistryProblem:
    """A cell of the registry file that was not taken; `row` counts the header as row 1."""

    row: int
    column: str
    student_id: str
    reason: Worded  # worded in the reader's language where shown; str() is English

    @property
    def message(self) -> str:
        return str(self.reason)


def _header(fieldnames: list[str], names: tuple[str, ...]) -> str | None:
    cleaned = {f.strip().lower(): f for f in fieldnames}
    return next((cleaned[n.lower()] for n in names if n.lower() in cleaned), None)


def ethnicity_code(value: str, codes: dict[str, str]) -> str | None:
    """The two-digit code for a nationality's name or code (01 and 1 alike); None if unknown."""
    text = value.strip()
    if text in codes:
        return codes[text]
    if text.isdigit() and text.zfill(2) in set(codes.values()):
        return text.zfill(2)
    if not text.endswith("族") and f"{text}族" in codes:  # "汉" for 汉族
        return codes[f"{text}族"]
    return None


def read_registry(
    data: bytes, codes: dict[str, str]
) -> tuple[dict[str, RegistryEntry], list[RegistryProblem]]:
    """Entries by student id, and the cells that could not be taken (named by row and column)."""
    try:
        text, _ = decode_csv(data)
    except MixedEncoding as exc:  # its own words: which line is in which encoding
        raise RegistryError(exc.message, **exc.values) from None
    except RosterError as exc:
        raise RegistryError(
            N_(
                "registry CSV is neither UTF-8 nor GBK/GB18030 (undecodable byte at offset "
                "{offset}): save it as UTF-8"
            ),
            offset=exc.values.get("offset"),
        ) from None
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        fieldnames, records = list(reader.fieldnames or []), list(reader)
    except csv.Error as exc:
        raise RegistryError(
            N_("registry CSV is not readable after line {line}: {problem}"),
            line=reader.line_num,
            problem=str(exc),
        ) from None
    id_col = _header(fieldnames, ID_HEADERS)
    if id_col is None:
        raise RegistryError(
            N_(
                "registry CSV has no student id column: head it 学号 or student_id (found: {found})"
            ),
            found=", ".join(fieldnames) or "—",
        )
    reg_col = _header(fieldnames, REGISTRY_HEADERS)
    eth_col = _header(fieldnames, ETHNICITY_HEADERS)
    if reg_col is None and eth_col is None:
        raise RegistryError(N_("registry CSV has neither a 学籍号 nor a 民族 column"))
    entries: dict[str, RegistryEntry] = {}
    seen: dict[str, int] = {}
    problems: list[RegistryProblem] = []
    for line, row in enumerate(records, start=2):
        student_id = (row.get(id_col) or "").strip()
        if not student_id:
            problems.append(
                RegistryProblem(line, id_col, "", Worded(N_("empty student id; row skipped")))
            )
            continue
        if student_id in seen:
            problems.append(
                RegistryProblem(
                    line,
                    id_col,
                    student_id,
                    Worded(N_("also on row {row}; row skipped"), row=seen[student_id]),
                )
            )
            continue
        seen[student_id] = line
        registry_no = (row.get(reg_col) or "").strip() if reg_col else ""
        if registry_no and not REGISTRY_NO.fullmatch(registry_no):
            problems.append(
                RegistryProblem(
                    line,
                    reg_col or "",
                    student_id,
                    Worded(
                        N_("{value!r} is not a registry number (6-32 letters and digits)"),
                        value=registry_no,
                    ),
                )
            )
            registry_no = ""
        raw_ethnicity = (row.get(eth_col) or "").strip() if eth_col else ""
        code = ethnicity_code(raw_ethnicity, codes) if raw_ethnicity else None
        if raw_ethnicity and code is None:
            problems.append(
                RegistryProblem(
                    line,
                    eth_col or "",
                    student_id,
                    Worded(
                        N_(
                            "{value!r} is not a nationality of GB 3304-91 (give the name, "
                            "e.g. 汉族, or its two-digit code, e.g. 01)"
                        ),
                        value=raw_ethnicity,
                    ),
                )
            )
        entries[student_id] = RegistryEntry(registry_no or None, code)
    return entries, problems
