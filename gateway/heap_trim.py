"""Give freed heap memory back to the OS (glibc), which a long-running gateway otherwise keeps.

Measured in a soak (docs/benchmarks.md, "Soak"): the Python objects and SQLite's caches of the
gateway stayed bounded, while the memory glibc's malloc held *free* in its arenas grew from 16
to 70 MB in eight minutes and with it the RSS. The gateway's threads allocate and free
buffers of every size (batches from the pipe of up to a few MB, bad payloads of up to 64 KiB,
SQLite pages) in per-thread arenas, and glibc returns a free region to the OS only when it
lies at the top of a heap. Two settings fix that, both on glibc only:

- a fixed mmap threshold: blocks from 256 KiB up get pages of their own, given back on free
  (glibc otherwise raises the threshold after each such free, up to 32 MB, and then carves
  the next large buffers from the arenas);
- `malloc_trim(0)` every minute, which hands the free pages inside every arena back.
"""

from __future__ import annotations

import ctypes
import logging
import platform
import threading

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # mallopt parameter number, from glibc's malloc.h
MMAP_THRESHOLD = 256 * 1024
TRIM_EVERY_S = 60.0


def _glibc() -> ctypes.CDLL | None:
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):
        return None
    return libc


class HeapTrimmer:
    """Sets the mmap threshold at start, then trims every *every_s* on a daemon thread."""

    def __init__(self, every_s: float = TRIM_EVERY_S) -> None:
        self.every_s = every_s
        self._libc = _glibc()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heap-trim", daemon=True)
        self.trims = 0

    @property
    def active(self) -> bool:
        return self._libc is not None

    def start(self) -> None:
        if self._libc is None:
            return  # another C library: it manages its heap its own way
        if not self._libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD):
            log.warning("mallopt(M_MMAP_THRESHOLD) refused; large blocks stay in the arenas")
        self._thread.start()

    def trim(self) -> None:
        if self._libc is not None:
            self._libc.malloc_trim(0)
            self.trims += 1

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.trim()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
