"""The health consumer: committed vision screenings become screening records and referrals."""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager

from gateway.health.screenings import Screenings
from gateway.store.commit_log import Committed


class HealthConsumer:
    """Hands each committed screening to the health records, from a cursor of its own.

    The runner saves the cursor in the transaction that stores a screening and its referral:
    a crash before that commit keeps neither (the restart handles the screening again), one
    after it has the cursor past it. The rows are keyed by (device_id, seq) too, so a screening
    read again (a cursor reset onto a new log, a state whose referrals the alert engine wrote
    before this consumer existed) makes no second referral.
    """

    name = "health"
    savepoints = True

    def __init__(self, screenings: Screenings) -> None:
        self.screenings = screenings

    def exclusive(self) -> AbstractContextManager[object]:
        # Staff only change a referral's status, one row in a transaction of its own: there is
        # no in-memory state to guard against another thread.
        return contextlib.nullcontext()

    def wants(self, entry: Committed) -> bool:
        return entry.message is not None and self.screenings.concerns(entry.message)

    def handle(self, entry: Committed) -> None:
        if entry.message is not None:
            self.screenings.record(entry.message)

    def finish(self) -> None:
        pass
