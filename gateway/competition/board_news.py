"""Live boards across gateway workers: a competition's change is told to every worker through
PostgreSQL's NOTIFY, and each worker LISTENs and wakes its own open board streams.

A school's results are stored by the worker holding it, while a reader's board stream may be
open on any worker; without this, a stream would show only the changes of its own worker. The
notice reaches the listeners once the change has committed (it is sent in the transaction of
the change, or after it), so a worker that reads the board on it sees the change. A worker
that lost its listening connection (PostgreSQL restarted) marks every board changed once it
listens again, since notices sent meanwhile are gone.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable

import psycopg
from sqlalchemy import text

from gateway.state import StateDB

log = logging.getLogger(__name__)

CHANNEL = "campusedge_boards"
RETRY_S = 2.0
STOP_CHECK_S = 0.2


class BoardNews:
    """Sends and hears `competition changed` notices; `on_change(None)` means every board."""

    def __init__(self, db: StateDB, on_change: Callable[[str | None], None]) -> None:
        if db.dialect != "postgresql":
            raise ValueError("board news needs a PostgreSQL state database")
        self.db = db
        self.on_change = on_change
        # A notice carries its sender, so that a worker does not wake its boards twice.
        self.instance = uuid.uuid4().hex
        self.listening = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tell(self, competition_id: str) -> None:
        """The other workers' boards of *competition_id* read again. Called after a commit,
        the notice is sent in a transaction of its own; a notice that cannot be sent is then
        logged, and those boards catch up at their next change. Called inside the thread's
        transaction (the competition consumer's step), it is sent at that commit, and not if
        the step rolls back; a failure there fails the step, which is tried again."""
        try:
            with self.db.joined() as conn:
                conn.execute(
                    text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": CHANNEL, "payload": f"{self.instance} {competition_id}"},
                )
        except Exception as exc:
            log.warning("could not tell the other workers that %s changed: %s", competition_id, exc)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="board-news", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _loop(self) -> None:
        url = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        lost = False
        while not self._stop.is_set():
            try:
                # TCP keepalives: a connection cut without a reset (a NAT's timeout, a
                # failover) raises nothing to a listener that only waits, and would leave this
                # worker's boards deaf to the others for good.
                with psycopg.connect(
                    url,
                    autocommit=True,
                    connect_timeout=5,
                    keepalives=1,
                    keepalives_idle=10,
                    keepalives_interval=5,
                    keepalives_count=3,
                ) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    if lost:
                        log.info("live boards: listening to the other workers again")
                        self.on_change(None)  # what was told meanwhile is gone
                        lost = False
                    while not self._stop.is_set():
                        # A short wait: `stop` (the gateway stopping) is seen within it.
                        for notice in conn.notifies(timeout=STOP_CHECK_S):
                            sender, _, competition_id = notice.payload.partition(" ")
                            if sender != self.instance and competition_id:
                                self.on_change(competition_id)
            except psycopg.Error as exc:
                self.listening.clear()
                if not lost:
                    log.warning(
                        "live boards: lost PostgreSQL (%s); other workers' changes are not "
                        "shown until it is back",
                        str(exc).strip().splitlines()[0]
                        if str(exc).strip()
                        else type(exc).__name__,
                    )
                lost = True
                self._stop.wait(RETRY_S)
