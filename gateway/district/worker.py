"""One gateway worker's heartbeat: keeps its school leases and tells ingest what to subscribe to.

Every `ttl_s / 3` the worker ticks its leases (gateway.district.leases) and hands ingest the
schools it holds now. A school it must give up (fair share after a worker joined) is released
in PostgreSQL at the next tick and left on the broker two ticks after that, once the worker
taking it has subscribed: both are then members of the school's share group for a heartbeat
or two (each message still goes to one of them and is stored once, by key), where leaving
first would let the broker drop the school's messages until the taker subscribed. A school
taken over from a worker that died comes with that worker's MQTT session: the worker whose
tick claimed the dead one empties it (see `gateway.ingest_mqtt.Drain`), since the broker kept
queuing the dead worker's share there, and reports at its next tick when that is done (or
gives the claim up, for another try, if the drain stopped short).

If PostgreSQL cannot be reached, the worker says so and keeps its subscriptions (see
`_unreachable`): its ingest acknowledges nothing it cannot commit, and what it received is
stored once PostgreSQL is back; its leases are then renewed, or given up where another worker
took them meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from gateway.district.leases import Holding, Leases, WorkerIdLost, known_schools
from gateway.ingest_mqtt import Drained
from gateway.state import StateDBUnavailable

log = logging.getLogger(__name__)

# A school given up stays subscribed for this many heartbeats after its lease is released:
# the worker taking it subscribes at its next tick, within one heartbeat, and until then the
# school's share group would have no member, and the broker would drop its messages.
LEAVE_AFTER_TICKS = 2


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
        self.active: frozenset[str] = frozenset()  # held and kept (the surplus excluded)
        self.subscribed: frozenset[str] = frozenset()  # what ingest is told to subscribe to
        self._surplus: frozenset[str] = frozenset()
        self._leaving: dict[str, int] = {}  # released school -> the tick that leaves it
        self._ticks = 0
        self._valid_until = 0.0  # monotonic: the leases held lapse after this
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost: str | None = None
        self.away_since: float | None = None  # monotonic: PostgreSQL unreachable since
        self._lapsed_told = False
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
        self._ticks += 1
        # Released by this tick: left on the broker only LEAVE_AFTER_TICKS ticks on, once the
        # worker taking them has had a whole heartbeat to subscribe.
        for school in self._surplus - holding.schools:
            self._leaving[school] = self._ticks + LEAVE_AFTER_TICKS
        self._leaving = {
            school: at
            for school, at in self._leaving.items()
            if at > self._ticks and school not in holding.schools
        }
        self._surplus = holding.surplus
        self.holding = holding
        subscribed = holding.schools | frozenset(self._leaving)
        if subscribed != self.subscribed or holding.taken_over:
            schools = self._all_schools()
            self.ingest.hold(subscribed, frozenset(schools) - subscribed)
            self.subscribed = subscribed
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
            except StateDBUnavailable as exc:
                self._unreachable(str(exc))
            except Exception:
                log.exception("worker %s: the lease heartbeat failed", self.worker_id)
                # Not PostgreSQL away (then nobody can take a school): something else fails
                # here while the others go on. Once the leases lapse they may take the schools,
                # and this worker must not go on as a second owner of them.
                if time.monotonic() >= self._valid_until and self.active:
                    self._fence("its leases lapsed while its heartbeat fails (errors above)")
            else:
                if self.away_since is not None:
                    log.warning(
                        "worker %s: PostgreSQL is back after %.0f s; it holds %d schools",
                        self.worker_id,
                        time.monotonic() - self.away_since,
                        len(self.active),
                    )
                    self.away_since = None
                    self._lapsed_told = False

    def _unreachable(self, why: str) -> None:
        """A heartbeat that could not reach PostgreSQL: said once, and once more when the
        leases lapse. The subscriptions stay: while PostgreSQL is away no worker can take a
        school, and a school nobody subscribes to is a school whose messages the broker
        drops; held by this worker's session, they are stored (and only then acknowledged)
        once PostgreSQL is back. Should another worker have taken a school meanwhile, this one
        leaves it at its first heartbeat after that (and stores once, by key, what it got)."""
        now = time.monotonic()
        if self.away_since is None:
            self.away_since = now
            log.error(
                "worker %s: PostgreSQL cannot be reached (%s); it keeps its %d schools' "
                "subscriptions and acknowledges nothing it has not stored; retrying every %.1f s",
                self.worker_id,
                why,
                len(self.active),
                self.leases.heartbeat_s,
            )
        if now >= self._valid_until and self.active and not self._lapsed_told:
            self._lapsed_told = True
            log.error(
                "worker %s: its leases have lapsed with PostgreSQL away; it keeps its "
                "subscriptions (nothing published is dropped) and gives up any school another "
                "worker has taken when PostgreSQL is back",
                self.worker_id,
            )

    def _fence(self, why: str) -> None:
        log.error("worker %s gives up all its schools: %s", self.worker_id, why)
        self.ingest.hold(frozenset(), self.subscribed)
        self.active = self.subscribed = frozenset()
        self._surplus = frozenset()
        self._leaving = {}

    def stop(self) -> None:
        """Stop the heartbeat. The subscriptions stay: ingest disconnects from a persistent
        session that keeps queuing the schools' messages until a live worker empties it (or
        this one comes back). Left before another worker subscribes, a school's share group
        would be empty and the broker would drop what is published meanwhile (every restart
        of a one-worker district). The leases are released by `leave` once ingest has
        committed what it received."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def leave(self) -> None:
        try:
            self.leases.leave()
        except Exception:  # the leases lapse by themselves within the lease time
            log.exception("worker %s: could not release its leases", self.worker_id)
