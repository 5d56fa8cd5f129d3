"""Server-sent events: a hub that hands notifications to each connected dashboard's queue.

Each queue is bounded; a dashboard that falls that far behind (it stopped reading: a tab
asleep, a client that never reads) is cut off rather than kept, so that it holds neither
memory nor the hub's attention; its stream ends and a browser's EventSource reconnects and
reloads the list from the REST API.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.alerts.notification import Notification
from gateway.alerts.visibility import is_recipient
from gateway.auth import User

log = logging.getLogger(__name__)


# Notifications a dashboard may be behind before it is cut off.
QUEUE_SIZE = 1000


@dataclass
class Subscriber:
    id: int
    user: User
    loop: asyncio.AbstractEventLoop
    queue_size: int = QUEUE_SIZE
    # None is the end-of-stream mark the hub sends when the gateway stops.
    queue: asyncio.Queue[Notification | None] = field(init=False)
    # Set (in the subscriber's loop) when the hub cuts it off: its response must end even
    # while it is blocked writing to a client that does not read.
    cut: asyncio.Event = field(init=False)

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(maxsize=self.queue_size)
        self.cut = asyncio.Event()


class SseHub:
    """Fans notifications out to subscribers; called from any thread, never blocks.

    *on_cut* is called (in the subscriber's event loop) for each subscriber cut off because
    its queue was full: the gateway counts them.
    """

    def __init__(
        self, queue_size: int = QUEUE_SIZE, on_cut: Callable[[], None] | None = None
    ) -> None:
        self.queue_size = queue_size
        self.on_cut = on_cut
        self._subs: dict[int, Subscriber] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def subscribe(self, user: User, loop: asyncio.AbstractEventLoop) -> Subscriber:
        sub = Subscriber(next(self._ids), user, loop, self.queue_size)
        with self._lock:
            self._subs[sub.id] = sub
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subs.pop(sub.id, None)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)

    def send(self, notification: Notification) -> None:
        with self._lock:
            subs = list(self._subs.values())
        for sub in subs:
            if any(is_recipient(sub.user, a) for a in notification.alerts):
                try:
                    sub.loop.call_soon_threadsafe(self._put, sub, notification)
                except RuntimeError:  # the subscriber's event loop has closed
                    self.unsubscribe(sub)

    def _put(self, sub: Subscriber, notification: Notification | None) -> None:
        if sub.cut.is_set():
            return  # notifications already on their way to it when it was cut off
        try:
            sub.queue.put_nowait(notification)
        except asyncio.QueueFull:
            self._cut(sub)

    def _cut(self, sub: Subscriber) -> None:
        """Cut off a subscriber that stopped reading: forget it, free its queue, end its
        response."""
        self.unsubscribe(sub)
        while not sub.queue.empty():
            sub.queue.get_nowait()
        sub.queue.put_nowait(None)
        sub.cut.set()
        log.warning(
            "SSE stream of %s cut off: %d notifications behind (not reading)",
            sub.user.id,
            sub.queue_size,
        )
        if self.on_cut is not None:
            self.on_cut()

    def close(self) -> None:
        """End every open stream, so that the HTTP server can shut down without waiting."""
        with self._lock:
            subs = list(self._subs.values())
            self._subs.clear()
        for sub in subs:
            with contextlib.suppress(RuntimeError):  # that loop has already closed
                sub.loop.call_soon_threadsafe(self._end, sub)

    @staticmethod
    def _end(sub: Subscriber) -> None:
        try:
            sub.queue.put_nowait(None)
        except asyncio.QueueFull:
            # Make room: the stream is ending anyway.
            sub.queue.get_nowait()
            sub.queue.put_nowait(None)
