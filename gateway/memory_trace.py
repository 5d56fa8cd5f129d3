"""Opt-in allocation tracing (CAMPUSEDGE_TRACEMALLOC=seconds): logs what grew since warm-up.

For finding where a long-running gateway's memory goes, on a test or staging machine: tracing
costs CPU on every allocation and memory for each traced block, so it is off by default. One
interval after start the first snapshot is taken (caches warm); every interval after that the
lines and call paths whose live allocations grew most since then are logged at WARNING, so
that they show at any log level the service runs with.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path

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


def _sqlite_memory_used() -> Callable[[], int] | None:
    """SQLite's own count of the heap it holds (page caches, statements), which tracemalloc
    does not see; None where the sqlite3 module is not linked to a shared libsqlite3."""
    try:
        import _sqlite3

        used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    except (ImportError, OSError, AttributeError):
        return None
    used.restype = ctypes.c_int64
    return lambda: int(used())


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _malloc_info() -> Callable[[], tuple[int, int]] | None:
    """glibc's (bytes in use, bytes free but kept) over all malloc arenas: the free part is
    fragmentation that RSS still counts. None without glibc 2.33's mallinfo2."""
    try:
        info = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None
    info.restype = _MallInfo2

    def read() -> tuple[int, int]:
        m = info()
        return int(m.uordblks + m.hblkhd), int(m.fordblks)

    return read


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class MemoryTrace:
    """A daemon thread that snapshots tracemalloc every *interval_s* and logs the growth."""

    def __init__(self, interval_s: float, name: str = "gateway") -> None:
        if interval_s <= 0:
            raise ValueError(f"tracemalloc interval must be positive seconds, not {interval_s}")
        self.interval_s = interval_s
        self.name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-trace", daemon=True)
        self._sqlite = _sqlite_memory_used()
        self._malloc = _malloc_info()

    def _outside(self) -> str:
        """What tracemalloc does not count: the process's RSS, SQLite's heap (inside malloc's
        figures) and glibc malloc's (pymalloc's arenas are mmapped apart from it)."""
        sqlite = f", sqlite heap {self._sqlite() / 1e6:.1f} MB" if self._sqlite else ""
        malloc = ""
        if self._malloc:
            used, free = self._malloc()
            malloc = f", malloc in use {used / 1e6:.1f} MB, free in arenas {free / 1e6:.1f} MB"
        return f"rss {_rss_mb():.1f} MB{sqlite}{malloc}"

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
        log.warning(
            "tracemalloc %s: baseline %.1f MB traced (%s)",
            self.name,
            started / 1e6,
            self._outside(),
        )
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
                f"{s.size_diff / 1e6:+.2f} MB at "
                + " <- ".join(
                    f"{_short(f.filename)}:{f.lineno}"
                    for f in reversed(s.traceback)  # oldest frame first: innermost first here
                    if not f.filename.endswith("threading.py")
                )
                for s in now.compare_to(first, "traceback")[: TOP // 2]
            ]
            log.warning(
                "tracemalloc %s turn %d: %.1f MB traced (%+.1f MB since baseline; %s)\n  %s\n"
                "  call paths:\n  %s",
                self.name,
                turn,
                total / 1e6,
                (total - started) / 1e6,
                self._outside(),
                "\n  ".join(lines),
                "\n  ".join(paths),
            )


def _short(filename: str) -> str:
    """The path from the package folder on: site-packages/…/x.py reads as …/x.py."""
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1]
    return "/".join(filename.rsplit("/", 3)[-3:])
