"""A worker's heartbeat on a real PostgreSQL: what it tells ingest to hold, to leave and to
drain, and how it gives everything up when its id is taken."""

from __future__ import annotations

import threading
import time

from sqlalchemy import insert, select, update

from gateway.district.leases import Leases
from gateway.district.worker import Worker
from gateway.ingest_mqtt import Drained
from gateway.state import StateDB
from gateway.tables.district import gateway_workers
from tests.gateway.district.conftest import SCHOOLS, TTL


class Recorder:
    """The ingest side of a worker, recorded: the two calls a worker makes of it."""

    def __init__(self) -> None:
        self.holds: list[tuple[frozenset[str], frozenset[str]]] = []
        self.drains: list[tuple[str, frozenset[str]]] = []

    def hold(self, schools: frozenset[str], others: frozenset[str] = frozenset()) -> None:
        self.holds.append((schools, others))

    def drain(self, client_id: str, schools: frozenset[str]) -> None:
        self.drains.append((client_id, schools))


def rows(db: StateDB) -> set[str]:
    return {str(r["worker_id"]) for r in db.query(select(gateway_workers.c.worker_id))}


def test_the_worker_tells_ingest_what_to_hold_leave_and_drain(db: StateDB) -> None:
    ingest = Recorder()
    worker = Worker(Leases(db, "w1", ttl_s=TTL), ingest, lambda w: f"gw-{w}")
    worker.register()
    worker.tick()
    assert ingest.holds == [(frozenset(SCHOOLS), frozenset())]
    # A second worker joins: the surplus is released at the next tick, and left on the broker
    # two ticks later, once the taker has subscribed (the share group is never empty).
    Leases(db, "w2", ttl_s=TTL).register()
    worker.tick()
    assert len(worker.active) == 3 and len(ingest.holds) == 1
    worker.tick()  # released
    assert len(ingest.holds) == 1 and worker.subscribed == frozenset(SCHOOLS)
    worker.tick()
    worker.tick()  # left
    active, others = ingest.holds[-1]
    assert active == worker.active and others == frozenset(SCHOOLS) - active
    # A dead worker's row: claimed, and its session drained under its client id.
    with db.transaction() as conn:
        conn.execute(
            insert(gateway_workers).values(
                worker_id="x", instance="i", started_at=0.0, expires_at=1.0
            )
        )
    worker.tick()
    assert ingest.drains == [("gw-x", frozenset(SCHOOLS))]
    assert "x" in rows(db)  # claimed until the drain reports done
    worker.drained(Drained("gw-x", complete=True))
    worker.tick()
    assert "x" not in rows(db)


def test_a_worker_whose_id_is_taken_gives_up_every_school_and_says_so(db: StateDB) -> None:
    ingest = Recorder()
    lost = threading.Event()
    worker = Worker(Leases(db, "w1", ttl_s=TTL), ingest, lambda w: f"gw-{w}", lambda _: lost.set())
    worker.register()
    worker.tick()
    worker.start()
    try:
        with db.transaction() as conn:  # another process took the id
            conn.execute(update(gateway_workers).values(instance="another"))
        assert lost.wait(5 * worker.leases.heartbeat_s)
        assert ingest.holds[-1] == (frozenset(), frozenset(SCHOOLS))
        assert worker.lost is not None and "was taken by another process" in worker.lost
    finally:
        started = time.monotonic()
        worker.stop()
        assert time.monotonic() - started < 1
