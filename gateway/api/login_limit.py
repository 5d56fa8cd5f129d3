"""Failed sign-ins limited per source address: past the limit, 429 with Retry-After."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque


class FailedLogins:
    """Counts bad or expired tokens per source address in a sliding window.

    A source with `max_failures` failures in the last `window_s` seconds is refused (every
    request that needs a token, a right one too) until the oldest of them leaves the window.
    Tokens are 192 random bits, so this does not protect them from guessing; it keeps a
    client that tries token after token (or a dashboard left open with a revoked one) from
    costing a database read per try. Kept in memory: each gateway process limits what reaches
    it; behind a reverse proxy, run uvicorn with the proxy's address trusted for
    X-Forwarded-For, or every client is the proxy.
    """

    def __init__(
        self, max_failures: int = 10, window_s: float = 60.0, max_sources: int = 10_000
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        # Bounded: a flood from many addresses forgets the least recent ones, never grows.
        self.max_sources = max_sources
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, source: str, now: float | None = None) -> int:
        """Seconds until *source* may try again; 0 when it may now."""
        at = time.monotonic() if now is None else now
        with self._lock:
            times = self._failures.get(source)
            if times is None:
                return 0
            while times and times[0] <= at - self.window_s:
                times.popleft()
            if not times:
                del self._failures[source]
                return 0
            if len(times) < self.max_failures:
                return 0
            return max(1, math.ceil(times[0] + self.window_s - at))

    def failed(self, source: str, now: float | None = None) -> None:
        at = time.monotonic() if now is None else now
        with self._lock:
            times = self._failures.pop(source, None) or deque(maxlen=self.max_failures)
            times.append(at)
            self._failures[source] = times  # most recent last
            while len(self._failures) > self.max_sources:
                self._failures.popitem(last=False)
