"""The fleet as the gateway sees it: each device's status (birth/last will) and last-seen time.

A device is known by its school and its id together: device ids are chosen per school (every
school has its `hr-01`), and a district's gateway hears many schools.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from campusedge.contract import Status
from gateway.state import StateDB

SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT NOT NULL,
    school TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'unknown',
    firmware TEXT,
    battery_pct REAL,
    model_versions TEXT NOT NULL DEFAULT '{}',
    config_version TEXT,
    detail TEXT,
    status_at TEXT,
    last_seen TEXT,
    messages INTEGER NOT NULL DEFAULT 0,
    stopped INTEGER NOT NULL DEFAULT 0,
    edge_id TEXT,
    PRIMARY KEY (school, device_id)
);
"""
# Columns added since the first release, added to a state database made before them.
ADDED_COLUMNS = {"stopped": "INTEGER NOT NULL DEFAULT 0", "edge_id": "TEXT"}


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
        db.ensure(SCHEMA)
        have = {r["name"]: r["pk"] for r in db.query("PRAGMA table_info(devices)")}
        with db.transaction() as conn:
            for column, decl in ADDED_COLUMNS.items():
                if column not in have:
                    conn.execute(f"ALTER TABLE devices ADD COLUMN {column} {decl}")
            if not have.get("school"):
                _key_by_school(conn)

    def apply(
        self,
        statuses: Iterable[tuple[str, Status, datetime]],
        seen: Iterable[tuple[str, str, str, datetime, int]],
    ) -> None:
        """Record (school, status, received) and (school, device, kind, last seen, count)."""
        with self.db.transaction() as conn:
            for school, status, received in statuses:
                conn.execute(
                    "INSERT INTO devices(device_id, school, kind, state, firmware, battery_pct, "
                    "model_versions, config_version, detail, status_at, stopped, edge_id) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(school, device_id) DO UPDATE SET "
                    "kind=excluded.kind, state=excluded.state, "
                    "stopped=excluded.stopped, "
                    "firmware=COALESCE(excluded.firmware, firmware), "
                    "battery_pct=COALESCE(excluded.battery_pct, battery_pct), "
                    "model_versions=excluded.model_versions, "
                    "config_version=COALESCE(excluded.config_version, config_version), "
                    "detail=excluded.detail, status_at=excluded.status_at, "
                    "edge_id=COALESCE(excluded.edge_id, edge_id)",
                    (
                        status.device_id,
                        school,
                        status.kind.value,
                        status.state.value,
                        status.firmware,
                        status.battery_pct,
                        json.dumps(status.model_versions),
                        status.config_version,
                        status.detail,
                        (status.ts or received).isoformat(),
                        int(status.stopped),
                        status.edge_id,
                    ),
                )
            conn.executemany(
                "INSERT INTO devices(device_id, school, kind, last_seen, messages) "
                "VALUES (?,?,?,?,?) ON CONFLICT(school, device_id) DO UPDATE SET "
                "last_seen=MAX(COALESCE(last_seen, ''), excluded.last_seen), "
                "messages=messages + excluded.messages",
                [
                    (device_id, school, kind, at.isoformat(), count)
                    for school, device_id, kind, at, count in seen
                ],
            )

    def all(self, school: str | None = None) -> list[DeviceRecord]:
        sql = "SELECT * FROM devices"
        rows = (
            self.db.query(sql + " WHERE school=? ORDER BY device_id", (school,))
            if school
            else self.db.query(sql + " ORDER BY device_id, school")
        )
        return [_record(r) for r in rows]

    def _rows(
        self, columns: str, device_ids: Iterable[str], school: str | None
    ) -> list[sqlite3.Row]:
        """*columns* of the recorded devices among *device_ids* (of *school*, or of any)."""
        ids = tuple(device_ids)
        rows: list[sqlite3.Row] = []
        where = "" if school is None else "school=? AND "
        # In slices: SQLite allows 32,766 variables a statement.
        for start in range(0, len(ids), 10_000):
            part = ids[start : start + 10_000]
            rows += self.db.query(
                f"SELECT device_id, {columns} FROM devices WHERE {where}device_id IN "
                f"({','.join('?' * len(part))})",
                part if school is None else (school, *part),
            )
        return rows

    def edge_box_ids(self) -> list[tuple[str, str]]:
        """(school, edge id) of every edge box that has sent a status."""
        rows = self.db.query("SELECT school, device_id FROM devices WHERE kind = 'edge'")
        return [(r["school"], r["device_id"]) for r in rows]

    def edge_boxes(self, school: str, device_ids: Iterable[str]) -> dict[str, str]:
        """The edge box each of *device_ids* of *school* is reached through, where known."""
        return {
            r["device_id"]: r["edge_id"]
            for r in self._rows("edge_id", device_ids, school)
            if r["edge_id"]
        }

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

    def enrolled_pairs(self, devices: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Those of *devices* (school, device id) that are enrolled (see `enrolled`)."""
        by_school: dict[str, set[str]] = {}
        for school, device_id in devices:
            by_school.setdefault(school, set()).add(device_id)
        return {
            (school, device_id)
            for school, ids in by_school.items()
            for device_id in self.enrolled(ids, school)
        }

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
        if school is None:
            rows = self.db.query(
                "SELECT * FROM devices WHERE device_id=? ORDER BY school", (device_id,)
            )
        else:
            rows = self.db.query(
                "SELECT * FROM devices WHERE school=? AND device_id=?", (school, device_id)
            )
        return [_record(r) for r in rows]


def _key_by_school(conn: sqlite3.Connection) -> None:
    """Rebuild a devices table keyed by device id alone (before devices were keyed by school)
    with the (school, device_id) key, rows kept. SQLite cannot change a primary key in place."""
    columns = ", ".join(r["name"] for r in conn.execute("PRAGMA table_info(devices)"))
    conn.execute("ALTER TABLE devices RENAME TO devices_by_id")
    conn.execute(SCHEMA)  # one statement: executescript would end the transaction
    conn.execute(f"INSERT INTO devices ({columns}) SELECT {columns} FROM devices_by_id")
    conn.execute("DROP TABLE devices_by_id")


def _record(r: sqlite3.Row) -> DeviceRecord:
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
