"""Server-sent events: a hub that hands notifications to each connected dashboard's queue."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from dataclasses import dataclass, field

from gateway.alerts.notification import Notification
from gateway.alerts.visibility import is_recipient
from gateway.auth import User

log = logging.getLogger(__name__)


@dataclass
class Subscriber:
    id: int
    user: User
    loop: asyncio.AbstractEventLoop
    # None is the end-of-stream mark the hub sends when the gateway stops.
    queue: asyncio.Queue[Notification | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=1000)
    )
    dropped: int = 0


class SseHub:
    """Fans notifications out to subscribers; called from any thread, never blocks."""

    def __init__(self) -> None:
        self._subs: dict[int, Subscriber] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def subscribe(self, user: User, loop: asyncio.AbstractEventLoop) -> Subscriber:
        sub = Subscriber(next(self._ids), user, loop)
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

    @staticmethod
    def _put(sub: Subscriber, notification: Notification | None) -> None:
        try:
            sub.queue.put_nowait(notification)
        except asyncio.QueueFull:
            # A dashboard that stopped reading must not hold memory without bound; it can
            # reload the list from the REST API.
            sub.dropped += 1
            log.warning(
                "SSE subscriber %d (%s) is not reading; dropped a notification", sub.id, sub.user.id
            )

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
