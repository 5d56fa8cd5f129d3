"""The alert consumer: committed messages and statuses through the alert engine's rules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from gateway.alerts.engine import AlertEngine
from gateway.ingest import CommittedBatch
from gateway.store.commit_log import Committed


class AlertConsumer:
    """Feeds the engine one entry at a time, so that one bad message costs only itself.

    Holds the engine's lock around a step: the tick thread and people acting on alerts take
    that lock before the state database's, and so does this consumer. Sends to channels
    outside the state database wait for the step's commit (`Notifier.after_commit`).
    """

    name = "alerts"
    savepoints = True

    def __init__(self, engine: AlertEngine) -> None:
        self.engine = engine

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        # Notifications leave (MQTT, SSE) once the step's transaction has committed.
        with self.engine.lock, self.engine.notifier.after_commit():
            yield

    def wants(self, entry: Committed) -> bool:
        return entry.status is not None or (
            entry.message is not None and self.engine.concerns(entry.message)
        )

    def handle(self, entry: Committed) -> None:
        if entry.message is not None:
            self.engine.on_batch(CommittedBatch(messages=[entry.message]))
        elif entry.status is not None:
            self.engine.on_batch(CommittedBatch(statuses=[entry.status]))

    def finish(self) -> None:
        pass
