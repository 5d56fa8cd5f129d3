"""Opt-in allocation tracing (CAMPUSEDGE_TRACEMALLOC=seconds): logs what grew since warm-up.

For finding where a long-running gateway's memory goes, on a test or staging machine: tracing
costs CPU on every allocation and memory for each traced block, so it is off by default. One
interval after start the first snapshot is taken (caches warm); every interval after that the
lines and call paths whose live allocations grew most since then are logged at WARNING, so
that they show at any log level the service runs with.
"""

from __future__ import annotations

import logging
import threading
import tracemalloc

log = logging.getLogger(__name__)

# Frames kept per allocation: enough to see who called into SQLAlchemy, json or paho.
FRAMES = 12
TOP = 12
_IGNORE = (
    tracemalloc.Filter(False, tracemalloc.__file__),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
    tracemalloc.Filter(False, "<unknown>"),
)


class MemoryTrace:
    """A daemon thread that snapshots tracemalloc every *interval_s* and logs the growth."""

    def __init__(self, interval_s: float, name: str = "gateway") -> None:
        if interval_s <= 0:
            raise ValueError(f"tracemalloc interval must be positive seconds, not {interval_s}")
        self.interval_s = interval_s
        self.name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-trace", daemon=True)

    def start(self) -> None:
        tracemalloc.start(FRAMES)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        tracemalloc.stop()

    def _snapshot(self) -> tracemalloc.Snapshot:
        return tracemalloc.take_snapshot().filter_traces(_IGNORE)

    def _run(self) -> None:
        if self._stop.wait(self.interval_s):
            return
        first = self._snapshot()
        started = sum(s.size for s in first.statistics("filename"))
        log.warning("tracemalloc %s: baseline %.1f MB traced", self.name, started / 1e6)
        turn = 0
        while not self._stop.wait(self.interval_s):
            turn += 1
            now = self._snapshot()
            total = sum(s.size for s in now.statistics("filename"))
            lines = [
                f"{s.size_diff / 1e6:+.2f} MB ({s.count_diff:+d} blocks) now {s.size / 1e6:.2f}"
                f" MB at {s.traceback[0].filename}:{s.traceback[0].lineno}"
                for s in now.compare_to(first, "lineno")[:TOP]
            ]
            paths = [
                f"{s.size_diff / 1e6:+.2f} MB via "
                + " <- ".join(f"{_short(f.filename)}:{f.lineno}" for f in s.traceback[:FRAMES])
                for s in now.compare_to(first, "traceback")[: TOP // 2]
            ]
            log.warning(
                "tracemalloc %s turn %d: %.1f MB traced (%+.1f MB since baseline)\n  %s\n"
                "  call paths:\n  %s",
                self.name,
                turn,
                total / 1e6,
                (total - started) / 1e6,
                "\n  ".join(lines),
                "\n  ".join(paths),
            )


def _short(filename: str) -> str:
    """The path from the package folder on: site-packages/…/x.py reads as …/x.py."""
    for marker in ("site-packages/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    parts = filename.rsplit("/", 3)
    return "/".join(parts[-3:])
