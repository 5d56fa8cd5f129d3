"""Subjects from a school's roster CSV, so that simulated gates and screeners name real students.

The gateway knows a student by the roster's `student_id` and by the ids enrolled for them in
`card_id` (a gate's card or face id, a screener's class-list id; several in one cell, split by
spaces or ";"). A device can only send ids of its own shape (`drivers.temp_gate.SUBJECT`,
`drivers.vision_screener.SUBJECT`), so each row gives the first of its card ids and its
`student_id` that the device could send.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from drivers.subject_ids import as_sent


class RosterFileError(ValueError):
    """A roster file the simulator cannot take students from; the message names the file."""


def subjects_from_roster(path: Path, shape: re.Pattern[str], device: str) -> list[str]:
    """The ids *device* would send for the students of the roster CSV at *path*, in file order.

    The file is the one imported into the gateway (`student_id,name,sex,birth_date,class_id
    [,card_id]`); rows without an id of the device's shape are skipped, and a file with none
    at all is an error that says what to enrol.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterFileError(f"--roster {path}: cannot read it: {exc}") from None
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    if "student_id" not in (reader.fieldnames or []):
        raise RosterFileError(
            f"--roster {path}: no student_id column (expected the roster CSV "
            "the gateway imports: student_id,name,sex,birth_date,class_id"
            "[,card_id])"
        )
    subjects: list[str] = []
    seen: set[str] = set()
    for row in reader:
        ids = [
            *re.split(r"[;\s]+", (row.get("card_id") or "").strip()),
            (row.get("student_id") or "").strip(),
        ]
        # The gateway stores gate and screener ids in capitals, as the devices send them.
        ids = [as_sent(v) for v in ids]
        for value in ids:
            if shape.fullmatch(value) and value not in seen:
                seen.add(value)
                subjects.append(value)
                break
    if not subjects:
        raise RosterFileError(
            f"--roster {path}: no student has an id a {device} can send ({shape.pattern}); "
            f"enrol the {device}'s id for each student in the card_id column"
        )
    return subjects
