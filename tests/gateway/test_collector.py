"""The garbage-collector settings a started gateway takes: start-up objects frozen, rarer passes."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from gateway import collector


@pytest.fixture
def restored() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("restored")
def test_settle_freezes_what_exists_and_sets_the_thresholds() -> None:
    kept = [{"made": "before"}]
    collector.settle()
    assert gc.get_threshold() == collector.THRESHOLDS
    assert gc.get_freeze_count() > 1000
    # Frozen objects are out of the collector's generations: its passes no longer walk them.
    assert not any(o is kept for o in gc.get_objects())
    del kept


@pytest.mark.usefixtures("restored")
def test_cycles_made_after_settling_are_still_collected() -> None:
    collector.settle()

    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a
    ids = {id(a), id(b)}
    del a, b
    assert gc.collect() >= 2
    assert not any(id(o) in ids and isinstance(o, Node) for o in gc.get_objects())
