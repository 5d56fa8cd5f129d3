"""One gateway worker's heartbeat: keeps its school leases and tells ingest what to subscribe to.

Every `ttl_s / 3` the worker ticks its leases (gateway.district.leases) and hands ingest the
schools it holds now. A school it must give up (fair share after a worker joined) is first
left on the broker and released in PostgreSQL only at the next tick, so that the worker that
takes it next does not share its messages with this one. A school taken over from a worker
that died comes with that worker's MQTT session: the worker whose tick claimed the dead one
empties it (see `gateway.ingest_mqtt.Drain`), since the broker kept queuing the dead worker's
share there, and reports at its next tick when that is done (or gives the claim up, for
another try, if the drain stopped short).

If PostgreSQL cannot be reached, the worker keeps its schools until its leases would have
lapsed, then holds none: by then the others may have taken them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from gateway.district.leases import Holding, Leases, WorkerIdLost, known_schools
from gateway.ingest_mqtt import Drained

log = logging.getLogger(__name__)


class Subscriber(Protocol):
    """What the worker asks of ingest."""

    def hold(self, schools: frozenset[str], others: frozenset[str] = frozenset()) -> None: ...

    def drain(self, client_id: str, schools: frozenset[str]) -> None: ...


class Worker:
    """The heartbeat thread of one worker; `start` claims the worker id (or raises)."""

    def __init__(
        self,
        leases: Leases,
        ingest: Subscriber,
        client_id_of: Callable[[str], str],
        on_lost: Callable[[str], None] | None = None,
    ) -> None:
        self.leases = leases
        self.ingest = ingest
        self.client_id_of = client_id_of
        self.on_lost = on_lost
        self.holding: Holding | None = None
        self.active: frozenset[str] = frozenset()
        self._surplus: frozenset[str] = frozenset()
        self._valid_until = 0.0  # monotonic: the leases held lapse after this
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost: str | None = None
        self._draining: dict[str, str] = {}  # MQTT client id -> the dead worker's id
        self._ended: list[Drained] = []  # drains ended since the last tick
        self._ended_lock = threading.Lock()

    @property
    def worker_id(self) -> str:
        return self.leases.worker_id

    def register(self) -> None:
        """Claim the worker id (WorkerIdTaken if another process holds it)."""
        self.leases.register()

    def tick(self) -> Holding:
        """One heartbeat: renew, rebalance, and tell ingest (also called once before ingest
        starts, so that its MQTT process subscribes to the right schools from the first)."""
        began = time.monotonic()
        with self._ended_lock:
            ended, self._ended = self._ended, []
        done = [self._draining.pop(e.client_id) for e in ended if e.client_id in self._draining]
        complete = {e.client_id for e in ended if e.complete}
        drained = [w for w in done if self.client_id_of(w) in complete]
        undrained = [w for w in done if self.client_id_of(w) not in complete]
        try:
            holding = self.leases.tick(release=self._surplus, drained=drained, undrained=undrained)
        except Exception:
            with self._ended_lock:  # reported again at the next tick
                self._ended[:0] = ended
            for e in ended:
                self._draining.setdefault(e.client_id, self._dead_of(e.client_id, done))
            raise
        self._valid_until = began + self.leases.ttl_s
        self._surplus = holding.surplus
        self.holding = holding
        if holding.active != self.active or holding.taken_over:
            schools = self._all_schools()
            self.ingest.hold(holding.active, frozenset(schools) - holding.active)
            if holding.active != self.active:
                log.info(
                    "worker %s holds %d of %d schools (%d workers, fair share %d)%s",
                    self.worker_id,
                    len(holding.active),
                    holding.all_schools,
                    holding.workers,
                    holding.share,
                    f"; giving up {', '.join(sorted(holding.surplus))}" if holding.surplus else "",
                )
            self.active = holding.active
        for dead in holding.drain:
            log.warning("worker %s lapsed: emptying its MQTT session here", dead)
            self._draining[self.client_id_of(dead)] = dead
            self.ingest.drain(self.client_id_of(dead), frozenset(self._all_schools()))
        return holding

    def _dead_of(self, client_id: str, workers: list[str]) -> str:
        return next(w for w in workers if self.client_id_of(w) == client_id)

    def drained(self, message: Drained) -> None:
        """Ingest's news that a drain ended (its pipe reader's thread): told at the next tick."""
        with self._ended_lock:
            self._ended.append(message)

    def _all_schools(self) -> list[str]:
        with self.leases.db.transaction() as conn:
            return known_schools(conn)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="worker-leases", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.leases.heartbeat_s):
            try:
                self.tick()
            except WorkerIdLost as exc:
                self._fence(str(exc))
                self.lost = str(exc)
                if self.on_lost is not None:
                    self.on_lost(str(exc))
                return
            except Exception:
                log.exception("worker %s: the lease heartbeat failed", self.worker_id)
                if time.monotonic() >= self._valid_until and self.active:
                    self._fence("its leases lapsed while PostgreSQL could not be reached")

    def _fence(self, why: str) -> None:
        log.error("worker %s gives up all its schools: %s", self.worker_id, why)
        self.ingest.hold(frozenset(), self.active)
        self.active = frozenset()
        self._surplus = frozenset()

    def stop(self) -> None:
        """Stop the heartbeat and leave every school's subscription (the leases are released
        by `leave` once ingest has committed what it received)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        if self.active:
            self.ingest.hold(frozenset(), self.active)

    def leave(self) -> None:
        try:
            self.leases.leave()
        except Exception:  # the leases lapse by themselves within the lease time
            log.exception("worker %s: could not release its leases", self.worker_id)
