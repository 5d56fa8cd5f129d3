"""Reading an evaluation manifest: one labelled clip per row of manifest.csv."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from edge.pe.counters import Exercise

REQUIRED = ("file", "exercise", "count", "start_frame", "end_frame")


class ManifestError(ValueError):
    """manifest.csv is missing a column or holds a bad value."""


@dataclass(frozen=True)
class Clip:
    path: Path
    exercise: Exercise
    count: int
    start_frame: int
    end_frame: int | None


def _int(row: dict[str, str], key: str, where: str, *, optional: bool = False) -> int | None:
    text = (row.get(key) or "").strip()
    if optional and not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ManifestError(f"{where}: column {key!r} must be an integer, got {text!r}") from None


def read_manifest(folder: Path) -> list[Clip]:
    path = folder / "manifest.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ManifestError(f"{path}: missing column(s) {', '.join(missing)}")
        clips = []
        for line, row in enumerate(reader, start=2):
            where = f"{path} line {line}"
            if any(row.get(column) is None for column in REQUIRED):
                raise ManifestError(f"{where}: the row has fewer columns than the header")
            try:
                exercise = Exercise(row["exercise"].strip())
            except ValueError:
                raise ManifestError(f"{where}: unknown exercise {row['exercise']!r}") from None
            count = _int(row, "count", where)
            start = _int(row, "start_frame", where, optional=True) or 0
            end = _int(row, "end_frame", where, optional=True)
            if count is None or count <= 0:
                raise ManifestError(f"{where}: count must be a positive integer")
            clips.append(Clip(folder / row["file"].strip(), exercise, count, start, end))
    return clips
