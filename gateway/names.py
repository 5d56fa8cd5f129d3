"""Student names in the order Chinese schools list them: by pinyin (pypinyin), not code point."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import TypeVar

T = TypeVar("T")


@cache
def pinyin_key(name: str) -> tuple[str, str]:
    """王小明 -> ("wang2 xiao3 ming2", "王小明"): pinyin with tone numbers first, as class lists
    are ordered (李 before 王 before 张), then the characters (张伟 and 章伟 sound alike);
    Latin letters compare without case. A polyphonic surname (曾, 单) is read as pypinyin
    guesses from the word, not always as the family says it."""
    # Imported here: pypinyin holds its phrase dictionary in memory (about 55 MB), which only a
    # gateway showing names sorted needs, not the CLI or an edge box.
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(name, style=Style.TONE3, errors="default")
    return " ".join(s.strip().lower() for s in syllables if s.strip()), name


def by_name(items: Iterable[T], name: Callable[[T], str], ident: Callable[[T], str]) -> list[T]:
    """*items* in pinyin order of their names, the id breaking ties (names repeat in a class)."""
    return sorted(items, key=lambda item: (pinyin_key(name(item)), ident(item)))
