"""Garbage-collector settings for a gateway that has started: frozen start-up objects, rarer passes.

Measured in `campusedge bench ingest` drains (docs/benchmarks.md, "Garbage collection"): with
CPython's defaults the gateway's process spent about 15 µs of CPU a message in the cyclic
collector, most of it in full collections that walk every object the process holds (260,000
after start: modules, the API's routes, SQLAlchemy's tables) every 14,000 messages or so,
because the window of recent commit-log entries turns over fast enough to trip the
collector's "a quarter of the old generation is new" rule again and again.

Two standard settings fix most of it:

- `gc.freeze()` once everything has started: what exists then lives as long as the process,
  and the collector stops walking it;
- a first-generation threshold of 50,000 allocations instead of 700, so that the young
  objects of a batch (thousands of messages alive at once) are looked at once per several
  batches rather than many times a batch. Reference counting still frees nearly everything at
  once; only garbage in reference cycles waits longer, and the next pass finds it.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

# (generation 0 allocations, generation 0 passes per generation 1 pass, generation 1 passes
# per full pass); CPython's defaults are (700, 10, 10).
THRESHOLDS = (50_000, 20, 10)


def settle() -> None:
    """Collect once, freeze what survives and set the thresholds: call when start-up is done."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    log.debug(
        "garbage collector: %d objects frozen, thresholds %s", gc.get_freeze_count(), THRESHOLDS
    )
