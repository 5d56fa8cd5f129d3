"""Districts: each a named set of schools; a school belongs to one district at most."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, insert, select

from gateway.auth import InvalidId
from gateway.i18n import N_
from gateway.state import StateDB
from gateway.tables.districts import district_schools, districts

# District ids, like user ids, end up in file names (alerts/districts/<id>.yaml), URLs and
# shell commands: letters, digits and `. _ -`, nothing that needs quoting.
_DISTRICT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_district_id(district_id: str) -> str:
    """Return *district_id* if it is a valid id, else raise InvalidId saying why."""
    if not _DISTRICT_ID.fullmatch(district_id):
        raise InvalidId(
            N_(
                "invalid district id {district_id!r}: use 1-64 characters from A-Z a-z 0-9 "
                ". _ -, starting with a letter or digit"
            ),
            district_id=district_id,
        )
    return district_id


class DistrictExists(KeyError):
    """A new district's id is taken."""


class SchoolInOtherDistrict(ValueError):
    """A school given to a district already belongs to another one."""

    def __init__(self, school: str, district_id: str) -> None:
        super().__init__(f"school {school!r} already belongs to district {district_id!r}")
        self.school = school
        self.district_id = district_id


@dataclass(frozen=True)
class District:
    id: str
    name: str
    schools: frozenset[str]


class Districts:
    """The districts of the state database. `district_of` is asked for every alert a rule
    raises, so it answers from a map read again at most every *refresh_s* seconds: a school
    moved between districts takes that long to be judged by its new district's thresholds."""

    def __init__(self, db: StateDB, refresh_s: float = 30.0) -> None:
        self.db = db
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._map: dict[str, str] = {}
        self._read_at = -1e18

    def add(self, district_id: str, name: str) -> None:
        check_district_id(district_id)
        with self.db.transaction() as conn:
            if conn.execute(select(districts.c.id).where(districts.c.id == district_id)).first():
                raise DistrictExists(district_id)
            conn.execute(insert(districts).values(id=district_id, name=name))

    def set_schools(self, district_id: str, schools: Iterable[str]) -> None:
        """Make *schools* the district's (KeyError: no such district; SchoolInOtherDistrict:
        one of them is another district's, and nothing is changed)."""
        wanted = sorted(set(schools))
        with self.db.transaction() as conn:
            if not conn.execute(
                select(districts.c.id).where(districts.c.id == district_id)
            ).first():
                raise KeyError(district_id)
            taken = conn.execute(
                select(district_schools.c.school, district_schools.c.district_id).where(
                    district_schools.c.school.in_(wanted),
                    district_schools.c.district_id != district_id,
                )
            ).first()
            if taken is not None:
                raise SchoolInOtherDistrict(taken.school, taken.district_id)
            conn.execute(
                delete(district_schools).where(district_schools.c.district_id == district_id)
            )
            if wanted:
                conn.execute(
                    district_schools.insert(),
                    [{"school": s, "district_id": district_id} for s in wanted],
                )
        self._forget()

    def get(self, district_id: str) -> District | None:
        rows = self.db.query(select(districts).where(districts.c.id == district_id))
        return self._district(rows[0]["id"], rows[0]["name"]) if rows else None

    def all(self) -> list[District]:
        rows = self.db.query(select(districts).order_by(districts.c.id))
        return [self._district(r["id"], r["name"]) for r in rows]

    def schools_of(self, district_id: str) -> frozenset[str]:
        rows = self.db.query(
            select(district_schools.c.school).where(district_schools.c.district_id == district_id)
        )
        return frozenset(r["school"] for r in rows)

    def district_of(self, school: str) -> str | None:
        """The district *school* belongs to (as of at most `refresh_s` ago), or None."""
        now = time.monotonic()
        with self._lock:
            if now - self._read_at >= self.refresh_s:
                rows = self.db.query(select(district_schools))
                self._map = {r["school"]: r["district_id"] for r in rows}
                self._read_at = now
            return self._map.get(school)

    def _forget(self) -> None:
        with self._lock:
            self._read_at = -1e18

    def _district(self, district_id: str, name: str) -> District:
        return District(district_id, name, self.schools_of(district_id))
