"""The fleet registry: who may log in to the broker, as which role, with which devices."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Connection, RowMapping, delete, select, update

from campusedge.topics import check_id
from gateway.fleet.passwords import mosquitto_hash, new_secret
from gateway.i18n import N_, Worded
from gateway.state import StateDB, dialect_insert, upsert
from gateway.tables.fleet import fleet_broker, fleet_changes, fleet_device, fleet_identity


class Role(StrEnum):
    BOX = "box"
    GATEWAY = "gateway"


class FleetError(Worded, ValueError):
    """A provisioning request that cannot be done; the message says why and what to do."""


class FleetConflict(FleetError):
    """What is asked for is held already (a device by another box, an enrolled box)."""


class UnknownIdentity(FleetError):
    """No enrolled identity (or device) by that name."""


@dataclass(frozen=True)
class Identity:
    """One MQTT login: a box of a school (with its devices) or a gateway worker."""

    username: str
    role: Role
    password_hash: str
    school: str | None = None
    box: str | None = None
    devices: tuple[str, ...] = ()
    created_at: str | None = None


@dataclass(frozen=True)
class Enrolled:
    """Who may publish for what, as of one generation of the registry."""

    generation: int
    # (school, device id) -> the box that publishes for it
    devices: dict[tuple[str, str], str]
    # (school, box id) of every box, which publishes its own status
    boxes: frozenset[tuple[str, str]]


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


_ACTIVE = select(fleet_identity).where(fleet_identity.c.revoked_at.is_(None))


def _changed(conn: Connection) -> None:
    """Count a change of the registry (in the transaction that makes it)."""
    stmt = dialect_insert(conn, fleet_changes)
    conn.execute(
        stmt.values(id=1, generation=1).on_conflict_do_update(
            index_elements=[fleet_changes.c.id],
            set_={"generation": fleet_changes.c.generation + 1},
        )
    )


def _check_free(conn: Connection, school: str, device: str, username: str) -> None:
    """FleetConflict if *device* of *school* belongs to another box than *username*."""
    owner = conn.execute(
        select(fleet_device.c.username).where(
            fleet_device.c.school == school, fleet_device.c.device_id == device
        )
    ).scalar()
    if owner is not None and owner != username:
        raise FleetConflict(
            N_(
                "device {device} of school {school} belongs to {owner}: "
                "revoke that box first or give another device id"
            ),
            device=device,
            school=school,
            owner=owner,
        )


class FleetRegistry:
    """Identities in the gateway's state database; only hashes of their secrets are kept."""

    def __init__(self, db: StateDB) -> None:
        self.db = db

    def enrol_box(self, school: str, box: str, devices: list[str]) -> Issued:
        """Enrol (or re-enrol with a new secret and device list) a box with its devices."""
        username = box_username(school, box)
        for device in devices:
            check_id(device, "device id")
        if len(set(devices)) != len(devices):
            raise FleetError(N_("box {box}: a device id is given twice"), box=box)
        password = new_secret()
        with self.db.transaction() as conn:
            for device in devices:
                _check_free(conn, school, device, username)
            self._put(conn, username, Role.BOX, password, school, box)
            conn.execute(delete(fleet_device).where(fleet_device.c.username == username))
            if devices:
                conn.execute(
                    fleet_device.insert(),
                    [{"school": school, "device_id": d, "username": username} for d in devices],
                )
            _changed(conn)
        return Issued(self.get(username), password)

    def add_device(self, school: str, box: str, device: str) -> Identity:
        """Let enrolled box *box* publish for one more device; its secret stays as it is."""
        username = box_username(school, box)
        check_id(device, "device id")
        self.get(username)
        with self.db.transaction() as conn:
            _check_free(conn, school, device, username)
            upsert(
                conn,
                fleet_device,
                {"school": school, "device_id": device, "username": username},
                keys=["school", "device_id"],
            )
            _changed(conn)
        return self.get(username)

    def remove_device(self, school: str, device: str) -> str:
        """Take *device* of *school* off its box's list (its messages are refused from then
        on); returns the box's username."""
        where = (fleet_device.c.school == school, fleet_device.c.device_id == device)
        with self.db.transaction() as conn:
            owner = conn.execute(select(fleet_device.c.username).where(*where)).scalar()
            if owner is None:
                raise UnknownIdentity(
                    N_("no enrolled device {device!r} in school {school!r}"),
                    device=device,
                    school=school,
                )
            conn.execute(delete(fleet_device).where(*where))
            _changed(conn)
        return str(owner)

    def find(self, username: str) -> Identity | None:
        """The enrolled identity *username*, or None."""
        rows = self.db.query(_ACTIVE.where(fleet_identity.c.username == username))
        return self._identity(rows[0]) if rows else None

    def boxes(self, schools: frozenset[str]) -> list[Identity]:
        """The enrolled boxes of *schools*, by school and box id."""
        i = fleet_identity.c
        rows = self.db.query(
            _ACTIVE.where(i.role == Role.BOX.value, i.school.in_(sorted(schools))).order_by(
                i.school, i.box
            )
        )
        return [self._identity(r) for r in rows]

    def enrol_gateway(self, worker: str) -> Issued:
        username = gateway_username(worker)
        password = new_secret()
        with self.db.transaction() as conn:
            self._put(conn, username, Role.GATEWAY, password, None, None)
            _changed(conn)
        return Issued(self.get(username), password)

    def _put(
        self,
        conn: Connection,
        username: str,
        role: Role,
        password: str,
        school: str | None,
        box: str | None,
    ) -> None:
        # Re-enrolling gives a new secret and lifts a revocation; the rest stays as enrolled.
        upsert(
            conn,
            fleet_identity,
            {
                "username": username,
                "role": role.value,
                "school": school,
                "box": box,
                "password_hash": mosquitto_hash(password),
                "created_at": _now(),
                "revoked_at": None,
            },
            keys=["username"],
            keep=["role", "school", "box", "created_at"],
        )

    def rotate(self, username: str) -> Issued:
        """A new secret for an enrolled identity; the old one stops working at the next reload."""
        self.get(username)
        password = new_secret()
        with self.db.transaction() as conn:
            conn.execute(
                update(fleet_identity)
                .where(fleet_identity.c.username == username)
                .values(password_hash=mosquitto_hash(password))
            )
            _changed(conn)
        return Issued(self.get(username), password)

    def revoke(self, username: str) -> None:
        """Take away an identity's login; its devices are freed for another box."""
        self.get(username)
        with self.db.transaction() as conn:
            conn.execute(
                update(fleet_identity)
                .where(fleet_identity.c.username == username)
                .values(revoked_at=_now())
            )
            conn.execute(delete(fleet_device).where(fleet_device.c.username == username))
            _changed(conn)

    def get(self, username: str) -> Identity:
        found = self.find(username)
        if found is None:
            raise UnknownIdentity(
                N_("no enrolled identity {username!r} (see `campusedge provision list`)"),
                username=username,
            )
        return found

    def active(self) -> list[Identity]:
        """Every identity that may log in, in a stable order (the broker files are diffable)."""
        rows = self.db.query(_ACTIVE.order_by(fleet_identity.c.username))
        return [self._identity(r) for r in rows]

    def _identity(self, row: RowMapping) -> Identity:
        devices = self.db.query(
            select(fleet_device.c.device_id)
            .where(fleet_device.c.username == row["username"])
            .order_by(fleet_device.c.device_id)
        )
        return Identity(
            username=row["username"],
            role=Role(row["role"]),
            password_hash=row["password_hash"],
            school=row["school"],
            box=row["box"],
            devices=tuple(d["device_id"] for d in devices),
            created_at=row["created_at"],
        )

    def schools_enrolling(self, device_ids: Iterable[str]) -> dict[str, set[str]]:
        """The schools whose boxes (not revoked) have each of *device_ids* enrolled; ids
        enrolled nowhere are left out."""
        wanted = sorted(set(device_ids))
        i, d = fleet_identity.c, fleet_device.c
        out: dict[str, set[str]] = {}
        # In slices: SQLite allows 32,766 variables a statement (a lesson may hand out more).
        for start in range(0, len(wanted), 10_000):
            rows = self.db.query(
                select(d.school, d.device_id)
                .join(fleet_identity, i.username == d.username)
                .where(i.revoked_at.is_(None), d.device_id.in_(wanted[start : start + 10_000]))
            )
            for r in rows:
                out.setdefault(r["device_id"], set()).add(r["school"])
        return out

    def generation(self) -> int:
        """How many changes the registry has had: a cheap test of whether it changed."""
        rows = self.db.query(select(fleet_changes.c.generation).where(fleet_changes.c.id == 1))
        return int(rows[0]["generation"]) if rows else 0

    def enrolled(self) -> Enrolled:
        """Every enrolled device with its box, and every box.

        The generation is read first: a change made while the rest is read leaves a newer
        generation behind, so whoever keeps this copy reads it again at its next check.
        """
        generation = self.generation()
        i, d = fleet_identity.c, fleet_device.c
        boxes = self.db.query(
            select(i.school, i.box).where(i.revoked_at.is_(None), i.role == Role.BOX.value)
        )
        devices = self.db.query(
            select(d.school, d.device_id, i.box)
            .join(fleet_identity, i.username == d.username)
            .where(i.revoked_at.is_(None))
        )
        return Enrolled(
            generation=generation,
            devices={(r["school"], r["device_id"]): r["box"] for r in devices},
            boxes=frozenset((r["school"], r["box"]) for r in boxes),
        )

    def broker_dir(self) -> str | None:
        """Where `provision broker` last wrote the broker's files (to regenerate them there)."""
        rows = self.db.query(select(fleet_broker.c.out_dir).where(fleet_broker.c.id == 1))
        return str(rows[0]["out_dir"]) if rows else None

    def set_broker_dir(self, out_dir: str) -> None:
        with self.db.transaction() as conn:
            upsert(conn, fleet_broker, {"id": 1, "out_dir": out_dir}, keys=["id"])
