"""School leases on a real PostgreSQL: acquire, renew, lapse and takeover, rebalance, and a
worker id that only one process may use."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gateway.district.leases import Leases, WorkerIdLost, WorkerIdTaken, holders
from gateway.state import StateDB, StateDBError
from tests.gateway.district.conftest import SCHOOLS, TTL


def worker(db: StateDB, worker_id: str) -> Leases:
    leases = Leases(db, worker_id, ttl_s=TTL)
    leases.register()
    return leases


def test_one_worker_takes_every_school_and_keeps_them_by_renewing(db: StateDB) -> None:
    w1 = worker(db, "w1")
    held = w1.tick()
    assert held.schools == frozenset(SCHOOLS) and held.surplus == frozenset()
    assert (held.workers, held.all_schools, held.share) == (1, 5, 5)
    # Ticking at the heartbeat for longer than a lease keeps every school.
    deadline = time.monotonic() + 1.3 * TTL
    while time.monotonic() < deadline:
        time.sleep(w1.heartbeat_s)
        assert w1.tick().schools == frozenset(SCHOOLS)
    assert holders(db) == dict.fromkeys(SCHOOLS, "w1")


def test_a_second_process_with_the_same_worker_id_is_refused(db: StateDB) -> None:
    w1 = worker(db, "w1")
    w1.tick()
    with pytest.raises(WorkerIdTaken, match="'w1' is in use by another running gateway"):
        worker(db, "w1")
    # A clean stop frees the id (and the schools) at once.
    w1.leave()
    assert holders(db) == {}
    again = worker(db, "w1")
    assert again.tick().schools == frozenset(SCHOOLS)


def test_a_joining_worker_gets_its_fair_share_and_no_school_is_held_twice(db: StateDB) -> None:
    w1 = worker(db, "w1")
    assert len(w1.tick().schools) == 5
    w2 = worker(db, "w2")
    h2 = w2.tick()
    assert h2.schools == frozenset() and h2.share == 3  # nothing free yet
    h1 = w1.tick()
    # ceil(5 / 2) = 3: two are surplus, no longer taken, released at the next tick.
    assert len(h1.surplus) == 2 and len(h1.active) == 3
    assert w2.tick().schools == frozenset()  # still leased until w1 releases them
    h1 = w1.tick(release=h1.surplus)
    h2 = w2.tick()
    assert len(h1.schools) == 3 and len(h2.schools) == 2
    assert h1.schools.isdisjoint(h2.schools) and h1.schools | h2.schools == set(SCHOOLS)
    assert h2.taken_over == {}  # released, not lapsed


def test_a_dead_workers_schools_lapse_and_move_to_the_survivor(db: StateDB) -> None:
    w1, w2 = worker(db, "w1"), worker(db, "w2")
    h1, h2 = w1.tick(), w2.tick()  # both registered: 3 and 2
    assert len(h1.schools) == 3 and len(h2.schools) == 2
    assert h1.schools and h2.schools and h1.schools.isdisjoint(h2.schools)
    # w1 dies (stops ticking); w2 keeps its heartbeat and holds everything once w1 lapses.
    died = time.monotonic()
    while len(h2.schools) < 5:
        time.sleep(w2.heartbeat_s)
        h2 = w2.tick()
        assert time.monotonic() - died < TTL + 2 * w2.heartbeat_s
    assert h2.taken_over == dict.fromkeys(h1.schools, "w1")
    assert h2.drain == ("w1",)  # w2 empties w1's MQTT session
    assert holders(db) == dict.fromkeys(SCHOOLS, "w2")
    # Had w1 only stalled, its next tick finds its id claimed, and it stops.
    with pytest.raises(WorkerIdLost):
        w1.tick()


def test_a_worker_whose_id_was_taken_after_it_lapsed_stops(db: StateDB) -> None:
    w1 = worker(db, "w1")
    w1.tick()
    time.sleep(TTL + 0.05)
    restarted = worker(db, "w1")  # the lapsed id is free again
    assert restarted.tick().schools == frozenset(SCHOOLS)
    with pytest.raises(WorkerIdLost, match="'w1' was taken by another process"):
        w1.tick()


def test_workers_need_a_postgresql_state(tmp_path: Path) -> None:
    state = StateDB(tmp_path / "state.db")
    try:
        with pytest.raises(StateDBError, match="share a PostgreSQL state database"):
            Leases(state, "w1")
    finally:
        state.close()


def test_a_dead_workers_session_is_claimed_once_and_again_when_its_drainer_dies(
    db: StateDB,
) -> None:
    w1, w2, w3 = worker(db, "w1"), worker(db, "w2"), worker(db, "w3")
    for w in (w1, w2, w3):
        w.tick()
    claims: dict[str, tuple[str, ...]] = {}
    while not claims:  # w1 dies; the first tick after it lapsed claims it
        time.sleep(w2.heartbeat_s)
        claims = {w.worker_id: h.drain for w in (w2, w3) if (h := w.tick()).drain}
    assert list(claims.values()) == [("w1",)]  # one claimer
    claimer, other = (w2, w3) if "w2" in claims else (w3, w2)
    assert other.tick().workers == 2  # a claimed row is no live worker
    with pytest.raises(WorkerIdTaken, match="emptying the MQTT session"):
        worker(db, "w1")
    # The claimer dies before it is done: its claim lapses, and the survivor claims w1 again.
    again: tuple[str, ...] = ()
    while "w1" not in again:
        time.sleep(other.heartbeat_s)
        again = other.tick().drain
    assert again == tuple(sorted(("w1", claimer.worker_id)))
    other.tick(drained=again)
    assert worker(db, "w1").tick().workers == 2  # its id is free once its session is emptied
