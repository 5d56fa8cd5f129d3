"""Live leaderboards: tells each open board stream that its competition's results changed.

A stream needs only to know *that* its board changed, not how: it reads the board again. So a
subscriber has one change mark waiting at most; changes that come before it reads the board
fold into that read, and a slow reader costs nothing but a late board.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from dataclasses import dataclass, field

CHANGED = True
ENDED = False


@dataclass
class BoardSubscriber:
    id: int
    competition_id: str
    loop: asyncio.AbstractEventLoop
    # CHANGED: the board changed; ENDED: the gateway is stopping (end of stream).
    queue: asyncio.Queue[bool] = field(init=False)
    cut: asyncio.Event = field(init=False)
    # A change mark is in the queue, not yet taken: another change folds into it.
    pending: bool = False

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue()
        self.cut = asyncio.Event()

    async def next(self) -> bool:
        """The next mark (in the subscriber's loop); a change taken ends the folding."""
        mark = await self.queue.get()
        if mark is CHANGED:
            self.pending = False
        return mark


class BoardHub:
    """Subscribers per competition; `changed` is called from any thread and never blocks."""

    def __init__(self) -> None:
        self._subs: dict[int, BoardSubscriber] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def subscribe(self, competition_id: str, loop: asyncio.AbstractEventLoop) -> BoardSubscriber:
        sub = BoardSubscriber(next(self._ids), competition_id, loop)
        with self._lock:
            self._subs[sub.id] = sub
        return sub

    def unsubscribe(self, sub: BoardSubscriber) -> None:
        with self._lock:
            self._subs.pop(sub.id, None)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)

    def competitions(self) -> set[str]:
        """The competitions that have an open stream."""
        with self._lock:
            return {s.competition_id for s in self._subs.values()}

    def changed(self, competition_id: str) -> None:
        with self._lock:
            subs = [s for s in self._subs.values() if s.competition_id == competition_id]
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(self._mark, sub, CHANGED)
            except RuntimeError:  # the subscriber's event loop has closed
                self.unsubscribe(sub)

    @staticmethod
    def _mark(sub: BoardSubscriber, mark: bool) -> None:
        """In the subscriber's loop: at most one change and the end wait in its queue."""
        if mark is CHANGED:
            if sub.pending:
                return
            sub.pending = True
        sub.queue.put_nowait(mark)

    def close(self) -> None:
        """End every open stream, so that the HTTP server can shut down without waiting."""
        with self._lock:
            subs = list(self._subs.values())
            self._subs.clear()
        for sub in subs:
            with contextlib.suppress(RuntimeError):
                sub.loop.call_soon_threadsafe(self._mark, sub, ENDED)
