"""What was dead-lettered per topic, so that a retained bad message is dead-lettered once.

The broker sends a topic's retained message again on every (re)subscription, that is on
every start and reconnection of the gateway. A bad retained message (a garbage status) would
be republished on the dead-letter topic, stored and counted each time, as if it were new. The
memory holds a digest of the last dead-lettered payload of each topic; a *retained* delivery
with that same payload is a repeat. A live message is always news, however often it comes.
Only a status is retained in the contract, so a restart learns from stored status dead letters
alone, and the digest covers the prefix a store keeps, so that it matches after a restart too.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable

from gateway.store.base import DEAD_LETTER_PAYLOAD_BYTES, DeadLetter

# Topics remembered at most: bounded, since topics come from whoever can publish. When it
# overflows the least recently dead-lettered topic is forgotten, and a retained message of
# that topic is dead-lettered once more after the next reconnection.
MAX_TOPICS = 10_000


def _digest(payload: bytes) -> bytes:
    return hashlib.blake2b(payload[:DEAD_LETTER_PAYLOAD_BYTES], digest_size=16).digest()


def _key(topic: str) -> bytes:
    # A digest, not the topic: 10,000 topics of 60 KB each would otherwise hold 600 MB.
    return hashlib.blake2b(topic.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class DeadLetterMemory:
    """Last dead-lettered payload per topic, least recently used first. Not thread-safe."""

    def __init__(self, max_topics: int = MAX_TOPICS) -> None:
        self.max_topics = max_topics
        self._last: OrderedDict[bytes, bytes] = OrderedDict()

    def seed(self, newest_first: Iterable[DeadLetter]) -> None:
        """Learn from stored dead letters (newest first), so that a restart remembers too."""
        seeded: dict[bytes, bytes] = {}
        for letter in newest_first:
            if len(seeded) >= self.max_topics:
                break
            seeded.setdefault(_key(letter.topic), _digest(letter.payload))
        for key, digest in reversed(seeded.items()):  # the newest ends most recent
            self._put(key, digest)

    def is_repeat(self, letter: DeadLetter, retained: bool) -> bool:
        """Whether *letter* is a retained redelivery of the last payload dead-lettered on its
        topic."""
        return retained and self._last.get(_key(letter.topic)) == _digest(letter.payload)

    def remember(self, letters: Iterable[DeadLetter]) -> None:
        """Record dead letters once they are stored and published."""
        for letter in letters:
            self._put(_key(letter.topic), _digest(letter.payload))

    def _put(self, key: bytes, digest: bytes) -> None:
        self._last[key] = digest
        self._last.move_to_end(key)
        while len(self._last) > self.max_topics:
            self._last.popitem(last=False)

    def __len__(self) -> int:
        return len(self._last)
