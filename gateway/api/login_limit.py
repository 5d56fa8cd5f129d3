"""Failed sign-ins limited per source address: past the limit, 429 with Retry-After."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class FailedLogins:
    """Counts the different bad or expired tokens tried from each source address in a
    sliding window.

    A source that tried `max_failures` different bad tokens in the last `window_s` seconds is
    refused (every request that needs a token, a right one too) until the oldest of them
    leaves the window. The same bad token sent again counts once (its time is renewed): a
    dashboard left open with a revoked token polls with it every few seconds, and must not
    lock out everyone behind the school's one NAT address, while someone guessing sends a new
    token each time. Tokens are 192 random bits, so this does not protect them from
    guessing; it keeps a client that tries token after token from costing a database read
    per try. Kept in memory: each gateway process limits what reaches it.
    """

    def __init__(
        self,
        max_failures: int = 10,
        window_s: float = 60.0,
        max_sources: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.max_failures = max_failures
        self.window_s = window_s
        # Bounded: a flood from many addresses forgets the least recent ones, never grows.
        self.max_sources = max_sources
        # source -> {digest of a bad token: when it was last tried}, oldest first
        self._failures: OrderedDict[str, dict[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, source: str, now: float | None = None) -> int:
        """Seconds until *source* may try again; 0 when it may now."""
        at = self.clock() if now is None else now
        with self._lock:
            tried = self._failures.get(source)
            if tried is None:
                return 0
            for digest in [d for d, t in tried.items() if t <= at - self.window_s]:
                del tried[digest]
            if not tried:
                del self._failures[source]
                return 0
            if len(tried) < self.max_failures:
                return 0
            return max(1, math.ceil(min(tried.values()) + self.window_s - at))

    def failed(self, source: str, token: str, now: float | None = None) -> None:
        at = self.clock() if now is None else now
        digest = hashlib.sha256(token.encode()).hexdigest()[:16]
        with self._lock:
            tried = self._failures.pop(source, None) or {}
            tried.pop(digest, None)
            tried[digest] = at
            while len(tried) > self.max_failures:  # only the newest count
                del tried[next(iter(tried))]
            self._failures[source] = tried  # most recent source last
            while len(self._failures) > self.max_sources:
                self._failures.popitem(last=False)
