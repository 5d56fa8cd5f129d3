"""Live boards across gateway workers: a competition's change is told to every worker (NOTIFY),
and each wakes its own open board streams.

A school's results are stored by the worker holding it, while a reader's board stream may be
open on any worker; without this, a stream would show only the changes of its own worker. A
worker that lost its listening connection marks every board changed once it listens again.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.state import StateDB
from gateway.worker_news import WorkerNews

CHANNEL = "campusedge_boards"


class BoardNews(WorkerNews):
    """Sends and hears `competition changed` notices; `on_change(None)` means every board."""

    def __init__(self, db: StateDB, on_change: Callable[[str | None], None]) -> None:
        super().__init__(db, CHANNEL, on_change, "live boards")
