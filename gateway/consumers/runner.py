"""Runs named consumers over the commit log: one thread each, cursor and effects in one transaction.

A step reads the entries after the consumer's cursor, hands each to the consumer inside one
state-database transaction (each entry in a savepoint of its own), and saves the new cursor in
that same transaction. So a crash anywhere either keeps the step's effects and its cursor, or
neither: after a restart the consumer resumes from its cursor, and an alert is raised once.

An entry the consumer raises on is rolled back alone (its savepoint), counted, and kept in
`consumer_dead_letters` for that consumer; the cursor moves on. A failure of the step itself
(the state database refusing the commit) is retried from the same cursor.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge

from gateway.consumers.cursors import Cursors
from gateway.state import StateDB, StateDBUnavailable
from gateway.store.commit_log import CommitLog, Committed

log = logging.getLogger(__name__)

# How long the log keeps what every consumer has read: long enough that a late redelivery is
# still recognised (the log's own key absorbs it) and that the alert consumer can replay the
# heart rates of its longest sustained window after a restart.
LOG_RETENTION = timedelta(minutes=15)
PRUNE_EVERY_S = 60.0
# A step whose entries all pass this consumer by changes nothing but its cursor: that is then
# saved at most this often (the idle loop looks every second), at `catch_up` and at stop,
# instead of in a transaction per step: seven consumers caught up after every commit of a
# drain were seven state-database transactions a batch. Reading again what it passed by
# after a crash changes nothing.
PASSED_BY_SAVE_S = 5.0


class Consumer(Protocol):
    """What reads the commit log: a name (its cursor's), and what it does with an entry."""

    @property
    def name(self) -> str: ...

    @property
    def savepoints(self) -> bool:
        """Whether `handle` writes to the state database, so that each entry needs a
        savepoint of its own to be undone alone (False: it only gathers, `finish` writes)."""
        ...

    def wants(self, entry: Committed) -> bool:
        """Cheap: whether the entry concerns this consumer at all (others are skipped)."""
        ...

    def exclusive(self) -> AbstractContextManager[object]:
        """Held around a step, taken before the state transaction (the consumer's own lock,
        if other threads change the same state, so that locks are always taken in one order)."""
        ...

    def handle(self, entry: Committed) -> None:
        """One entry, inside the step's transaction; may raise (the entry is dead-lettered)."""
        ...

    def finish(self) -> None:
        """After a step's entries, inside its transaction (batched writes)."""
        ...


class ConsumerMetrics:
    """Per-consumer counters at /metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.handled = Counter(
            "campusedge_consumer_entries",
            "Commit-log entries a consumer has handled",
            ["consumer"],
            registry=registry,
        )
        self.errors = Counter(
            "campusedge_consumer_errors",
            "Commit-log entries a consumer raised on (dead-lettered for it, then skipped)",
            ["consumer"],
            registry=registry,
        )
        self.step_failures = Counter(
            "campusedge_consumer_step_failures",
            "Consumer steps that could not commit (retried from the same cursor)",
            ["consumer"],
            registry=registry,
        )
        self.lag = Gauge(
            "campusedge_consumer_lag",
            "Commit-log entries not yet handled by a consumer",
            ["consumer"],
            registry=registry,
        )


class ConsumerRunner:
    """One consumer on its own thread; `wake()` after a commit, `catch_up()` to run inline."""

    def __init__(
        self,
        consumer: Consumer,
        commit_log: CommitLog,
        db: StateDB,
        cursors: Cursors,
        metrics: ConsumerMetrics,
        batch_limit: int = 5000,
        idle: Callable[[], None] | None = None,
        cursor_suffix: str = "",
    ) -> None:
        self.consumer = consumer
        self._idle = idle
        self.name = consumer.name
        # The cursor's name: the consumer's, and a gateway worker's id after it (each worker
        # reads its own commit log).
        self.cursor = consumer.name + cursor_suffix
        self.log = commit_log
        self.db = db
        self.cursors = cursors
        self.metrics = metrics
        self.batch_limit = batch_limit
        self._position: int | None = None
        self._saved: int | None = None  # the position the state database holds
        self._saved_at = time.monotonic()
        self._step_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False

    @property
    def position(self) -> int:
        if self._position is None:
            self._position = self._saved = self.cursors.get(self.cursor)
        return self._position

    def reset(self) -> None:
        """Forget the cached position (read again from the state database)."""
        with self._step_lock:
            self._position = self._saved = None

    def step(self) -> int:
        """Handle the next entries after the cursor; returns how many (0: caught up)."""
        with self._step_lock:
            entries = self.log.since(self.position, self.batch_limit)
            if not entries:
                if time.monotonic() - self._saved_at >= PASSED_BY_SAVE_S:
                    self._save_passed_by()
                return 0
            # Asked once per entry: seven consumers read every entry ingest commits.
            wanted = [entry for entry in entries if self.consumer.wants(entry)]
            if wanted:
                failed = self._run(wanted, entries[-1].position)
                self._saved, self._saved_at = entries[-1].position, time.monotonic()
            else:
                failed = []
            self._position = entries[-1].position
            if time.monotonic() - self._saved_at >= PASSED_BY_SAVE_S:
                self._save_passed_by()
        self.metrics.handled.labels(consumer=self.name).inc(len(entries))
        self.metrics.lag.labels(consumer=self.name).set(max(0, self.log.head() - self._position))
        for entry, exc in failed:
            self.metrics.errors.labels(consumer=self.name).inc()
            log.error(
                "consumer %s failed on commit-log entry %d (%s); dead-lettered, going on",
                self.name,
                entry.position,
                exc,
                exc_info=exc,
            )
        return len(entries)

    def _save_passed_by(self) -> None:
        """Save a cursor that moved past entries this consumer did not want (under the step
        lock)."""
        if self._position is None or self._position == self._saved:
            return
        with self.db.transaction() as conn:
            Cursors.save(conn, self.cursor, self._position)
        self._saved, self._saved_at = self._position, time.monotonic()

    def _run(self, entries: Sequence[Committed], upto: int) -> list[tuple[Committed, Exception]]:
        """Handle *entries* (the wanted ones of a step) and move the cursor to *upto*."""
        failed: list[tuple[Committed, Exception]] = []
        consumer = self.consumer
        savepoints = consumer.savepoints
        with consumer.exclusive(), self.db.transaction() as conn:
            for entry in entries:
                # A savepoint per entry: a failing one leaves nothing of its effects behind.
                entry_savepoint = conn.begin_nested() if savepoints else None
                try:
                    consumer.handle(entry)
                except Exception as exc:
                    if entry_savepoint is not None:
                        entry_savepoint.rollback()
                    Cursors.dead_letter(conn, self.name, entry, exc)
                    failed.append((entry, exc))
                else:
                    if entry_savepoint is not None:
                        entry_savepoint.commit()
            consumer.finish()
            Cursors.save(conn, self.cursor, upto)
        return failed

    def catch_up(self, timeout_s: float = 30.0) -> None:
        """Run steps on the calling thread until the consumer has read the whole log."""
        deadline = time.monotonic() + timeout_s
        while self.step():
            if time.monotonic() > deadline:
                raise TimeoutError(f"consumer {self.name} did not catch up in {timeout_s} s")
        with self._step_lock:
            self._save_passed_by()

    # --- thread -----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._started = True
            self._thread = threading.Thread(
                target=self._loop, name=f"consumer-{self.name}", daemon=True
            )
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None
        try:
            with self._step_lock:
                self._save_passed_by()
        except Exception:  # only costs reading again what this consumer passes by
            log.exception("consumer %s: could not save its cursor at stop", self.name)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def started(self) -> bool:
        return self._started

    def _loop(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                handled = self.step()
                delay = 0.5
            except Exception as exc:
                # The state database or the log refused (disk full, locked too long): the
                # cursor did not move, so the same entries are tried again.
                self.metrics.step_failures.labels(consumer=self.name).inc()
                log.exception("consumer %s: a step failed; retrying in %.1f s", self.name, delay)
                self._stop.wait(delay)
                # A state database that went away is tried every 2 s, so that alerts and boards
                # resume soon after it is back; other failures back off further.
                delay = min(delay * 2, 2.0 if isinstance(exc, StateDBUnavailable) else 30.0)
                continue
            if handled:
                continue
            if self._idle is not None:
                self._idle()
            # Caught up: sleep until ingest commits again (or a second passes, so that a
            # missed wake-up costs a second at most).
            self._wake.wait(1.0)
            self._wake.clear()


class Consumers:
    """Every consumer of one gateway: started, woken and stopped together."""

    def __init__(
        self,
        commit_log: CommitLog,
        db: StateDB,
        registry: CollectorRegistry,
        batch_limit: int = 5000,
        cursor_suffix: str = "",
    ) -> None:
        self.log = commit_log
        self.cursor_suffix = cursor_suffix
        self.db = db
        self.cursors = Cursors(db)
        self.metrics = ConsumerMetrics(registry)
        self.batch_limit = batch_limit
        self.runners: dict[str, ConsumerRunner] = {}
        self._pruned_at = time.monotonic()
        self._prune_lock = threading.Lock()

    def add(self, consumer: Consumer) -> ConsumerRunner:
        if consumer.name in self.runners:
            raise ValueError(f"two consumers named {consumer.name!r}")
        runner = ConsumerRunner(
            consumer,
            self.log,
            self.db,
            self.cursors,
            self.metrics,
            self.batch_limit,
            idle=self._prune_when_due,
            cursor_suffix=self.cursor_suffix,
        )
        self.runners[consumer.name] = runner
        return runner

    def start(self) -> None:
        self.check_cursors()
        for runner in self.runners.values():
            runner.start()

    def check_cursors(self) -> None:
        """A cursor beyond everything the log ever held means the log is not the one it was
        read from (a new file: deleted, or a state restored onto another machine): the
        consumer starts at the beginning of this log instead of skipping what it will hold."""
        head = self.log.head()
        for name, runner in self.runners.items():
            if runner.position > head:
                log.warning(
                    "consumer %s had read the commit log up to %d, but %s holds entries up to "
                    "%d only: a new log; reading it from the start",
                    name,
                    runner.position,
                    self.log.path,
                    head,
                )
                with self.db.transaction() as conn:
                    Cursors.save(conn, runner.cursor, 0)
                runner.reset()

    def stop(self) -> None:
        for runner in self.runners.values():
            runner.stop()

    def wake(self) -> None:
        """Ingest committed: every consumer looks at the log again."""
        for runner in self.runners.values():
            runner.wake()

    def _prune_when_due(self) -> None:
        """Called by consumers when they are idle: pruning is not ingest's work."""
        if time.monotonic() - self._pruned_at > PRUNE_EVERY_S:
            self.prune()

    def status(self) -> dict[str, dict[str, int | bool]]:
        """Per consumer: its position, how far behind the log's head, whether it runs (a
        consumer never started, as in tools and tests, counts as running)."""
        head = self.log.head()
        return {
            name: {
                "position": r.position,
                "lag": max(0, head - r.position),
                "alive": r.alive() or not r.started,
            }
            for name, r in self.runners.items()
        }

    def catch_up(self, timeout_s: float = 30.0) -> None:
        """Run every consumer inline until it has read the whole log (tools and tests)."""
        for runner in self.runners.values():
            runner.catch_up(timeout_s)

    def caught_up(self) -> bool:
        head = self.log.head()
        return all(r.position >= head for r in self.runners.values())

    def update_lag(self) -> None:
        head = self.log.head()
        for name, runner in self.runners.items():
            self.metrics.lag.labels(consumer=name).set(max(0, head - runner.position))

    def prune(self) -> None:
        """Forget log entries every consumer has read, once they are old enough."""
        if not self._prune_lock.acquire(blocking=False):
            return
        try:
            self._pruned_at = time.monotonic()
            if not self.runners:
                return
            below = min(r.position for r in self.runners.values())
            try:
                self.log.prune(below, LOG_RETENTION.total_seconds())
                self.update_lag()
            except Exception:  # housekeeping: tried again at the next prune
                log.exception("could not prune the commit log")
        finally:
            self._prune_lock.release()
