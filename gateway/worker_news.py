"""Notices between gateway workers through PostgreSQL's NOTIFY: each worker LISTENs on a
channel and hears what the others tell (a change committed by one that the readers connected
to another should see at once).

A notice reaches the listeners once the transaction that sent it has committed (`tell` inside
a transaction sends it at that commit, and not if it rolls back), so a worker that reads the
state on it sees the change. A worker that lost its listening connection (PostgreSQL
restarted) hears `None` once it listens again: notices sent meanwhile are gone.
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

RETRY_S = 2.0
STOP_CHECK_S = 0.2


class WorkerNews:
    """Tells and hears notices on *channel*; `on_notice(payload)` for each of another worker,
    `on_notice(None)` after a gap. *what* names it in the log."""

    def __init__(
        self, db: StateDB, channel: str, on_notice: Callable[[str | None], None], what: str
    ) -> None:
        if db.dialect != "postgresql":
            raise ValueError(f"{what} across workers needs a PostgreSQL state database")
        self.db = db
        self.channel = channel
        self.on_notice = on_notice
        self.what = what
        # A notice carries its sender, so that a worker does not hear its own.
        self.instance = uuid.uuid4().hex
        self.listening = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tell(self, payload: str) -> None:
        """Tell the other workers *payload*. Called after a commit, the notice is sent in a
        transaction of its own; a notice that cannot be sent is then logged, and the others
        catch up at the next. Called inside the thread's transaction, it is sent at that
        commit, and not if the transaction rolls back; a failure there fails it."""
        try:
            with self.db.joined() as conn:
                conn.execute(
                    text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": self.channel, "payload": f"{self.instance} {payload}"},
                )
        except Exception as exc:
            log.warning("%s: could not tell the other workers %r: %s", self.what, payload, exc)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.channel, daemon=True)
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
                # worker deaf to the others for good.
                with psycopg.connect(
                    url,
                    autocommit=True,
                    connect_timeout=5,
                    keepalives=1,
                    keepalives_idle=10,
                    keepalives_interval=5,
                    keepalives_count=3,
                ) as conn:
                    conn.execute(f"LISTEN {self.channel}")
                    self.listening.set()
                    if lost:
                        log.info("%s: listening to the other workers again", self.what)
                        self.on_notice(None)  # what was told meanwhile is gone
                        lost = False
                    while not self._stop.is_set():
                        # A short wait: `stop` (the gateway stopping) is seen within it.
                        for notice in conn.notifies(timeout=STOP_CHECK_S):
                            sender, _, payload = notice.payload.partition(" ")
                            if sender != self.instance and payload:
                                self.on_notice(payload)
            except psycopg.Error as exc:
                self.listening.clear()
                if not lost:
                    log.warning(
                        "%s: lost PostgreSQL (%s); other workers' changes are not shown "
                        "until it is back",
                        self.what,
                        str(exc).strip().splitlines()[0]
                        if str(exc).strip()
                        else type(exc).__name__,
                    )
                lost = True
                self._stop.wait(RETRY_S)
