"""The fleet as the gateway sees it: each device's status (birth/last will) and last-seen time.

A device is known by its school and its id together: device ids are chosen per school (every
school has its `hr-01`), and a district's gateway hears many schools.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import RowMapping, case, func, select
from sqlalchemy.dialects import postgresql, sqlite

from campusedge.contract import Status
from gateway.state import StateDB
from gateway.tables.devices import devices


@dataclass(frozen=True)
class DeviceRecord:
    device_id: str
    school: str
    kind: str
    state: str
    firmware: str | None
    battery_pct: float | None
    model_versions: dict[str, str]
    config_version: str | None
    detail: str | None
    status_at: datetime | None
    last_seen: datetime | None
    messages: int
    # The last status was a clean stop of its box (maintenance), not a fault.
    stopped: bool = False
    # The edge box the device last said it is reached through (None for a box itself).
    edge_id: str | None = None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Devices:
    def __init__(self, db: StateDB) -> None:
        self.db = db

    def apply(
        self,
        statuses: Iterable[tuple[str, Status, datetime]],
        seen: Iterable[tuple[str, str, str, datetime, int]],
    ) -> None:
        """Record (school, status, received) and (school, device, kind, last seen, count)."""
        reported = [
            {
                "device_id": status.device_id,
                "school": school,
                "kind": status.kind.value,
                "state": status.state.value,
                "firmware": status.firmware,
                "battery_pct": status.battery_pct,
                "model_versions": json.dumps(status.model_versions),
                "config_version": status.config_version,
                "detail": status.detail,
                "status_at": (status.ts or received).isoformat(),
                "stopped": int(status.stopped),
                "edge_id": status.edge_id,
            }
            for school, status, received in statuses
        ]
        heard = [
            {
                "device_id": device_id,
                "school": school,
                "kind": kind,
                "last_seen": at.isoformat(),
                "messages": count,
            }
            for school, device_id, kind, at, count in seen
        ]
        with self.db.transaction() as conn:
            # One at a time: a batch may hold two statuses of one device, the later one wins.
            for row in reported:
                conn.execute(_status_upsert(conn.dialect.name), row)
            if heard:
                conn.execute(_seen_upsert(conn.dialect.name), heard)

    def all(self, school: str | None = None) -> list[DeviceRecord]:
        d = devices.c
        query = (
            select(devices).where(d.school == school).order_by(d.device_id)
            if school
            else select(devices).order_by(d.device_id, d.school)
        )
        return [_record(r) for r in self.db.query(query)]

    def _rows(
        self, columns: str, device_ids: Iterable[str], school: str | None
    ) -> Sequence[RowMapping]:
        """*columns* (comma-separated names) of the recorded devices among *device_ids* (of
        *school*, or of any)."""
        ids = tuple(device_ids)
        d = devices.c
        wanted = [d[name.strip()] for name in columns.split(",")]
        rows: list[RowMapping] = []
        # In slices: SQLite allows 32,766 variables a statement.
        for start in range(0, len(ids), 10_000):
            query = select(d.device_id, *wanted).where(d.device_id.in_(ids[start : start + 10_000]))
            if school is not None:
                query = query.where(d.school == school)
            rows += self.db.query(query)
        return rows

    def _pair_rows(
        self, column: str, pairs: Iterable[tuple[str, str]]
    ) -> list[tuple[tuple[str, str], object]]:
        """((school, device id), *column*) of the recorded devices among *pairs*: one query
        for all of them (in slices), however many schools they are of."""
        wanted = set(pairs)
        ids = sorted({device_id for _, device_id in wanted})
        schools = sorted({school for school, _ in wanted})
        d = devices.c
        found: list[tuple[tuple[str, str], object]] = []
        for start in range(0, len(ids), 10_000):
            query = select(d.school, d.device_id, d[column]).where(
                d.device_id.in_(ids[start : start + 10_000]), d.school.in_(schools)
            )
            for r in self.db.query(query):
                key = (r["school"], r["device_id"])
                if key in wanted:
                    found.append((key, r[column]))
        return found

    def edge_box_ids(self) -> list[tuple[str, str]]:
        """(school, edge id) of every edge box that has sent a status."""
        rows = self.db.query(
            select(devices.c.school, devices.c.device_id).where(devices.c.kind == "edge")
        )
        return [(r["school"], r["device_id"]) for r in rows]

    def edge_boxes(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The edge box each of *pairs* (school, device id) is reached through, where known;
        one query for all of them, whatever their schools (as `enrolled_pairs`)."""
        return {key: str(edge) for key, edge in self._pair_rows("edge_id", pairs) if edge}

    def kinds(self, device_ids: Iterable[str], school: str | None = None) -> dict[str, str]:
        """The recorded kind of each of *device_ids* that the gateway has heard from (in
        *school*; without one, in any school)."""
        return {r["device_id"]: r["kind"] for r in self._rows("kind", device_ids, school)}

    def last_statuses(
        self, device_ids: Iterable[str], school: str | None = None
    ) -> dict[str, tuple[datetime, str]]:
        """(time, state) of the last status recorded for each of *device_ids* (in *school*)."""
        return {
            r["device_id"]: (datetime.fromisoformat(r["status_at"]), r["state"])
            for r in self._rows("status_at, state", device_ids, school)
            if r["status_at"]
        }

    def enrolled(self, device_ids: Iterable[str], school: str | None = None) -> set[str]:
        """Those of *device_ids* that have announced themselves with a status (their box's
        birth message), as every device an edge agent runs does; an id that only ever sent
        readings is not enrolled (anyone who may publish can invent one)."""
        return {
            r["device_id"] for r in self._rows("status_at", device_ids, school) if r["status_at"]
        }

    def enrolled_pairs(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Those of *pairs* (school, device id) that are enrolled (see `enrolled`).

        One query for all of them, however many schools they are of: ingest asks after every
        batch, and a district worker's batches hold many schools (a query per school cost a
        round trip to PostgreSQL each, on the path of every acknowledgement)."""
        return {key for key, status_at in self._pair_rows("status_at", pairs) if status_at}

    def stopped_cleanly(self, device_ids: Iterable[str], school: str | None = None) -> set[str]:
        """Those of *device_ids* whose last status is offline with `stopped` (a clean stop of
        their box), as opposed to a lost link or a last will."""
        return {
            r["device_id"]
            for r in self._rows("state, stopped", device_ids, school)
            if r["state"] == "offline" and r["stopped"]
        }

    def get(self, device_id: str, school: str | None = None) -> DeviceRecord | None:
        """The device *device_id* of *school*; without a school, the one device of that id
        (None when no school or several have it)."""
        found = self.find(device_id, school)
        return found[0] if len(found) == 1 else None

    def find(self, device_id: str, school: str | None = None) -> list[DeviceRecord]:
        """Every recorded device with id *device_id* (of *school*), by school."""
        d = devices.c
        query = select(devices).where(d.device_id == device_id).order_by(d.school)
        if school is not None:
            query = query.where(d.school == school)
        return [_record(r) for r in self.db.query(query)]


@cache
def _status_upsert(dialect: str) -> sqlite.Insert | postgresql.Insert:
    """A status overwrites what it says; what it leaves out (firmware, battery, config
    version, edge box) keeps the value from before."""
    stmt = postgresql.insert(devices) if dialect == "postgresql" else sqlite.insert(devices)
    new, old = stmt.excluded, devices.c
    return stmt.on_conflict_do_update(
        index_elements=[old.school, old.device_id],
        set_={
            "kind": new.kind,
            "state": new.state,
            "stopped": new.stopped,
            "firmware": func.coalesce(new.firmware, old.firmware),
            "battery_pct": func.coalesce(new.battery_pct, old.battery_pct),
            "model_versions": new.model_versions,
            "config_version": func.coalesce(new.config_version, old.config_version),
            "detail": new.detail,
            "status_at": new.status_at,
            "edge_id": func.coalesce(new.edge_id, old.edge_id),
        },
    )


@cache
def _seen_upsert(dialect: str) -> sqlite.Insert | postgresql.Insert:
    """Traffic adds up; the last time seen is the later of the two (text order is time order)."""
    stmt = postgresql.insert(devices) if dialect == "postgresql" else sqlite.insert(devices)
    before = func.coalesce(devices.c.last_seen, "")
    return stmt.on_conflict_do_update(
        index_elements=[devices.c.school, devices.c.device_id],
        set_={
            "last_seen": case(
                (before > stmt.excluded.last_seen, before), else_=stmt.excluded.last_seen
            ),
            "messages": devices.c.messages + stmt.excluded.messages,
        },
    )


def _record(r: RowMapping) -> DeviceRecord:
    return DeviceRecord(
        r["device_id"],
        r["school"],
        r["kind"],
        r["state"],
        r["firmware"],
        r["battery_pct"],
        json.loads(r["model_versions"]),
        r["config_version"],
        r["detail"],
        _dt(r["status_at"]),
        _dt(r["last_seen"]),
        r["messages"],
        bool(r["stopped"]),
        r["edge_id"],
    )
