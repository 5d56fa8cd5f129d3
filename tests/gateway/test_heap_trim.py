"""The heap trimmer: on glibc it trims on its own thread and stops with the gateway."""

from __future__ import annotations

import platform
import threading

import pytest

from gateway.heap_trim import HeapTrimmer


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_it_trims_every_period_and_stops() -> None:
    trimmer = HeapTrimmer(every_s=0.05)
    assert trimmer.active
    trimmer.start()
    try:
        threading.Event().wait(0.5)
    finally:
        trimmer.stop()
    assert trimmer.trims >= 3
    assert not any(t.name == "heap-trim" for t in threading.enumerate())
