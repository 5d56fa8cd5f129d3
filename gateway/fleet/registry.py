"""The fleet registry: who may log in to the broker, as which role, with which devices."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from campusedge.topics import check_id
from gateway.fleet.passwords import mosquitto_hash, new_secret
from gateway.state import StateDB

SCHEMA = """
CREATE TABLE IF NOT EXISTS fleet_identity (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('box', 'gateway')),
    school TEXT,
    box TEXT,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS fleet_device (
    school TEXT NOT NULL,
    device_id TEXT NOT NULL,
    username TEXT NOT NULL REFERENCES fleet_identity(username) ON DELETE CASCADE,
    PRIMARY KEY (school, device_id)
);
CREATE TABLE IF NOT EXISTS fleet_broker (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    out_dir TEXT NOT NULL
);
"""


class Role(StrEnum):
    BOX = "box"
    GATEWAY = "gateway"


class FleetError(ValueError):
    """A provisioning request that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Identity:
    """One MQTT login: a box of a school (with its devices) or a gateway worker."""

    username: str
    role: Role
    password_hash: str
    school: str | None = None
    box: str | None = None
    devices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Issued:
    """An identity just enrolled or rotated, with its secret (shown once, never stored)."""

    identity: Identity
    password: str


def box_username(school: str, box: str) -> str:
    # '/' cannot occur in ids, so the name is unambiguous and cannot collide with a gateway's.
    return f"box/{check_id(school, 'school id')}/{check_id(box, 'box id')}"


def gateway_username(worker: str) -> str:
    return f"gateway/{check_id(worker, 'worker id')}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class FleetRegistry:
    """Identities in the gateway's state database; only hashes of their secrets are kept."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.ensure(SCHEMA)

    def enrol_box(self, school: str, box: str, devices: list[str]) -> Issued:
        """Enrol (or re-enrol with a new secret and device list) a box with its devices."""
        username = box_username(school, box)
        for device in devices:
            check_id(device, "device id")
        if len(set(devices)) != len(devices):
            raise FleetError(f"box {box}: a device id is given twice")
        password = new_secret()
        with self.db.transaction() as conn:
            for device in devices:
                owner = conn.execute(
                    "SELECT username FROM fleet_device WHERE school = ? AND device_id = ?",
                    (school, device),
                ).fetchone()
                if owner is not None and owner[0] != username:
                    raise FleetError(
                        f"device {device} of school {school} belongs to {owner[0]}: "
                        "revoke that box first or give another device id"
                    )
            self._put(conn, username, Role.BOX, password, school, box)
            conn.execute("DELETE FROM fleet_device WHERE username = ?", (username,))
            conn.executemany(
                "INSERT INTO fleet_device (school, device_id, username) VALUES (?, ?, ?)",
                [(school, d, username) for d in devices],
            )
        return Issued(self.get(username), password)

    def enrol_gateway(self, worker: str) -> Issued:
        username = gateway_username(worker)
        password = new_secret()
        with self.db.transaction() as conn:
            self._put(conn, username, Role.GATEWAY, password, None, None)
        return Issued(self.get(username), password)

    def _put(
        self,
        conn: sqlite3.Connection,
        username: str,
        role: Role,
        password: str,
        school: str | None,
        box: str | None,
    ) -> None:
        conn.execute(
            "INSERT INTO fleet_identity (username, role, school, box, password_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET"
            " password_hash = excluded.password_hash, revoked_at = NULL",
            (username, role.value, school, box, mosquitto_hash(password), _now()),
        )

    def rotate(self, username: str) -> Issued:
        """A new secret for an enrolled identity; the old one stops working at the next reload."""
        self.get(username)
        password = new_secret()
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE fleet_identity SET password_hash = ? WHERE username = ?",
                (mosquitto_hash(password), username),
            )
        return Issued(self.get(username), password)

    def revoke(self, username: str) -> None:
        """Take away an identity's login; its devices are freed for another box."""
        self.get(username)
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE fleet_identity SET revoked_at = ? WHERE username = ?", (_now(), username)
            )
            conn.execute("DELETE FROM fleet_device WHERE username = ?", (username,))

    def get(self, username: str) -> Identity:
        rows = self.db.query(
            "SELECT * FROM fleet_identity WHERE username = ? AND revoked_at IS NULL", (username,)
        )
        if not rows:
            raise FleetError(f"no enrolled identity {username!r} (see `campusedge provision list`)")
        return self._identity(rows[0])

    def active(self) -> list[Identity]:
        """Every identity that may log in, in a stable order (the broker files are diffable)."""
        rows = self.db.query(
            "SELECT * FROM fleet_identity WHERE revoked_at IS NULL ORDER BY username"
        )
        return [self._identity(r) for r in rows]

    def _identity(self, row: sqlite3.Row) -> Identity:
        devices = self.db.query(
            "SELECT device_id FROM fleet_device WHERE username = ? ORDER BY device_id",
            (row["username"],),
        )
        return Identity(
            username=row["username"],
            role=Role(row["role"]),
            password_hash=row["password_hash"],
            school=row["school"],
            box=row["box"],
            devices=tuple(d[0] for d in devices),
        )

    def broker_dir(self) -> str | None:
        """Where `provision broker` last wrote the broker's files (to regenerate them there)."""
        rows = self.db.query("SELECT out_dir FROM fleet_broker WHERE id = 1")
        return str(rows[0][0]) if rows else None

    def set_broker_dir(self, out_dir: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO fleet_broker (id, out_dir) VALUES (1, ?)"
                " ON CONFLICT (id) DO UPDATE SET out_dir = excluded.out_dir",
                (out_dir,),
            )
