"""Leases on schools in PostgreSQL: which gateway worker holds which school, renewed by heartbeat.

Every worker registers its id with a random instance key (a second process with the same id is
refused while the first one's row is alive) and then ticks every `ttl_s / 3`. A tick is one
transaction that first takes a transaction-level advisory lock, so the ticks of all workers
run one after another and each sees the others' leases as they are: no two workers can take
the same school, and nothing beyond PostgreSQL coordinates them. A tick

1. renews this worker's row and the leases it still holds (`expires_at` = now + ttl on the
   database's clock, so the workers' clocks need not agree);
2. counts the live workers (rows not past `expires_at`) and the schools (the fleet registry and
   the roster), and works out the fair share, ceil(schools / workers);
3. releases the leases it was told to release (the caller unsubscribed from them a tick ago),
   names as surplus what it holds beyond the fair share (the caller stops taking them now and
   passes them back to release at the next tick), and takes free or lapsed schools up to the
   share.

A worker that dies stops renewing: its row and leases lapse `ttl_s` after its last tick, and
the survivors take its schools at their next tick, so within `ttl_s + ttl_s / 3`. The first
tick to find a lapsed worker's row claims it for draining (its instance becomes
`drain:<claimer's instance>`, renewed by the claimer's ticks) and reports the worker in
`Holding.drain`: the claimer empties the dead worker's MQTT session and, once that is done,
passes the worker to `tick(drained=…)`, which removes the row. A claimer that dies lets the
claim lapse, and the next tick to find it claims it again, so a session is emptied even when
its drainer dies too; a claim given up (`tick(undrained=…)`) is lapsed at once for the same.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, delete, func, insert, select, text, union, update

from gateway.i18n import N_
from gateway.state import StateDB, StateDBError
from gateway.tables.district import gateway_workers, school_leases
from gateway.tables.districts import district_schools
from gateway.tables.fleet import fleet_device, fleet_identity
from gateway.tables.roster import classes

# The key of the transaction-level advisory lock that puts every worker's tick in one line
# (any constant no other part of the gateway uses; "ce" "ls" in ASCII).
TICK_LOCK = 0x63656C73
DEFAULT_TTL_S = 10.0
DRAIN = "drain:"  # the instance of a dead worker's row that a live worker is draining


class WorkerIdTaken(StateDBError):
    """Another running process already uses this worker id."""


class WorkerIdLost(StateDBError):
    """This worker missed its heartbeats so long that another process took its worker id."""


@dataclass(frozen=True)
class Holding:
    """What one tick found: the schools this worker holds, and the district as it saw it."""

    schools: frozenset[str]
    # Held still, beyond the fair share: stop taking their messages, release at the next tick.
    surplus: frozenset[str]
    workers: int
    all_schools: int
    share: int
    # School -> the worker whose lapsed lease this tick took over (a dead worker's).
    taken_over: dict[str, str] = field(default_factory=dict)
    # Workers found lapsed by this tick (their rows removed, so by no other tick): this worker
    # empties their MQTT sessions.
    drain: tuple[str, ...] = ()

    @property
    def active(self) -> frozenset[str]:
        """The schools whose messages this worker takes now."""
        return self.schools - self.surplus


def known_schools(conn: Connection) -> list[str]:
    """Every school the deployment knows: enrolled devices and boxes, the roster's classes,
    and the schools of its districts."""
    rows = conn.execute(
        union(
            select(fleet_device.c.school),
            select(fleet_identity.c.school).where(fleet_identity.c.school.is_not(None)),
            select(classes.c.school),
            select(district_schools.c.school),
        )
    )
    return sorted(str(r[0]) for r in rows)


class Leases:
    """One worker's leases: `register` once, then `tick` every `ttl_s / 3`, `leave` at stop."""

    def __init__(self, db: StateDB, worker_id: str, *, ttl_s: float = DEFAULT_TTL_S) -> None:
        if db.dialect != "postgresql":
            raise StateDBError(
                N_(
                    "gateway workers share a PostgreSQL state database; {where!r} is "
                    "{dialect}: give --state-db postgresql://… (or run without --worker-id)"
                ),
                where=db.where,
                dialect=db.dialect,
            )
        if ttl_s <= 0:
            raise ValueError("the lease time must be positive")
        self.db = db
        self.worker_id = worker_id
        self.ttl_s = ttl_s
        self.instance = uuid.uuid4().hex

    @property
    def heartbeat_s(self) -> float:
        return self.ttl_s / 3

    def _begin(self, conn: Connection) -> float:
        """Take the tick lock and return the database's clock, in seconds."""
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TICK_LOCK})
        return float(
            conn.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one()
        )

    def register(self) -> None:
        """Claim the worker id; raises WorkerIdTaken while another process holds it."""
        w = gateway_workers.c
        with self.db.transaction() as conn:
            now = self._begin(conn)
            row = conn.execute(
                select(w.instance, w.expires_at).where(w.worker_id == self.worker_id)
            ).first()
            if row is not None and row.expires_at > now and row.instance.startswith(DRAIN):
                raise WorkerIdTaken(
                    f"worker id {self.worker_id!r}: another worker is emptying the MQTT session "
                    f"this id left behind (for {row.expires_at - now:.1f} s more at most); "
                    "start again in a few seconds"
                )
            if row is not None and row.expires_at > now and row.instance != self.instance:
                raise WorkerIdTaken(
                    f"worker id {self.worker_id!r} is in use by another running gateway "
                    f"(its lease runs {row.expires_at - now:.1f} s more); give each worker its "
                    f"own --worker-id. A worker that was killed frees its id within "
                    f"{self.ttl_s:g} s"
                )
            values = {
                "worker_id": self.worker_id,
                "instance": self.instance,
                "started_at": now,
                "expires_at": now + self.ttl_s,
            }
            if row is None:
                conn.execute(insert(gateway_workers).values(values))
            else:
                conn.execute(
                    update(gateway_workers).where(w.worker_id == self.worker_id).values(values)
                )

    def tick(
        self,
        release: Iterable[str] = (),
        drained: Iterable[str] = (),
        undrained: Iterable[str] = (),
    ) -> Holding:
        """Renew, release *release*, and take or give up schools towards the fair share;
        finish the drains of *drained* workers and give up those of *undrained* ones."""
        w, s = gateway_workers.c, school_leases.c
        mine = (s.worker_id == self.worker_id) & (s.instance == self.instance)
        with self.db.transaction() as conn:
            now = self._begin(conn)
            until = now + self.ttl_s
            renewed = conn.execute(
                update(gateway_workers)
                .where((w.worker_id == self.worker_id) & (w.instance == self.instance))
                .values(expires_at=until)
            ).rowcount
            if not renewed:
                raise WorkerIdLost(
                    f"worker id {self.worker_id!r} was taken by another process after this one "
                    f"missed its heartbeats for {self.ttl_s:g} s; this worker stops"
                )
            claim = DRAIN + self.instance
            mine_to_drain = w.instance == claim
            if drained:
                conn.execute(
                    delete(gateway_workers).where(
                        mine_to_drain & w.worker_id.in_(sorted(set(drained)))
                    )
                )
            if undrained:
                conn.execute(
                    update(gateway_workers)
                    .where(mine_to_drain & w.worker_id.in_(sorted(set(undrained))))
                    .values(expires_at=0.0)
                )
            conn.execute(update(gateway_workers).where(mine_to_drain).values(expires_at=until))
            released = sorted(set(release))
            if released:
                conn.execute(delete(school_leases).where(mine & s.school.in_(released)))
            held = {
                str(r[0])
                for r in conn.execute(
                    update(school_leases).where(mine).values(expires_at=until).returning(s.school)
                )
            }
            # A lapsed worker's row (or a lapsed claim on it) is claimed by the one tick that
            # finds it; if the worker was only stalled, its next tick finds it claimed and stops.
            lapsed_workers = tuple(
                sorted(
                    str(r[0])
                    for r in conn.execute(
                        update(gateway_workers)
                        .where((w.expires_at <= now) & (w.worker_id != self.worker_id))
                        .values(instance=claim, expires_at=until)
                        .returning(w.worker_id)
                    )
                )
            )
            workers = int(
                conn.execute(
                    select(func.count())
                    .select_from(gateway_workers)
                    .where((w.expires_at > now) & ~w.instance.startswith(DRAIN))
                ).scalar_one()
            )
            schools = known_schools(conn)
            share = math.ceil(len(schools) / max(workers, 1))
            surplus = frozenset(sorted(held)[share:]) if len(held) > share else frozenset()
            taken: dict[str, str] = {}
            if len(held) < share:
                leased = {
                    str(r.school): (str(r.worker_id), float(r.expires_at))
                    for r in conn.execute(select(s.school, s.worker_id, s.expires_at))
                }
                # Lapsed leases first (a dead worker's schools wait longest), then free ones.
                lapsed = [x for x in schools if x in leased and leased[x][1] <= now]
                free = [x for x in schools if x not in leased]
                for school in (lapsed + free)[: share - len(held)]:
                    if school in leased:
                        taken[school] = leased[school][0]
                        conn.execute(delete(school_leases).where(s.school == school))
                    conn.execute(
                        insert(school_leases).values(
                            school=school,
                            worker_id=self.worker_id,
                            instance=self.instance,
                            expires_at=until,
                        )
                    )
                    held.add(school)
        return Holding(
            frozenset(held), surplus, workers, len(schools), share, taken, lapsed_workers
        )

    def leave(self) -> None:
        """A clean stop: give up every school at once (no waiting for lapse), and lapse the
        worker's row, so that a live worker empties its MQTT session (still subscribed: what
        was published since is queued there) as it does a dead worker's. The id is free."""
        s, w = school_leases.c, gateway_workers.c
        with self.db.transaction() as conn:
            self._begin(conn)
            conn.execute(
                delete(school_leases).where(
                    (s.worker_id == self.worker_id) & (s.instance == self.instance)
                )
            )
            conn.execute(
                update(gateway_workers)
                .where((w.worker_id == self.worker_id) & (w.instance == self.instance))
                .values(expires_at=0.0)
            )


def holders(db: StateDB) -> dict[str, str]:
    """School -> worker id of every lease not lapsed (for status pages, tools and tests)."""
    s = school_leases.c
    with db.transaction() as conn:
        now = float(conn.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one())
        rows = conn.execute(select(s.school, s.worker_id).where(s.expires_at > now))
        return {str(r.school): str(r.worker_id) for r in rows}
