"""Translations of what people read: one gettext catalog per language, English where one lacks."""

from __future__ import annotations

import gettext
import io
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

DOMAIN: Final = "campusedge"
# The .po files live here in the repository; the build compiles each to a .mo beside it.
LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"
# Simplified Chinese first: the people who use the system work in it. English is kept complete.
LANGUAGES: Final = ("zh_CN", "en")
DEFAULT_LANGUAGE: Final = "zh_CN"

# Called with (language, message id) when a message has no translation in that language.
MissingHook = Callable[[str, str], None]


class LanguageError(ValueError):
    """A language setting this gateway has no catalog for."""


def language_of(tag: str) -> str | None:
    """Our catalog for a language tag as people and browsers write it (zh-CN, zh_Hans, en-US),
    or None when there is none."""
    parts = tag.strip().replace("_", "-").lower().split("-")
    if parts[0] == "zh":
        # Traditional script (zh-Hant, zh-TW, zh-HK) is a different catalog we do not have.
        rest = set(parts[1:])
        return None if rest & {"hant", "tw", "hk", "mo"} else "zh_CN"
    if parts[0] == "en":
        return "en"
    return None


def checked_language(tag: str) -> str:
    """*tag* as a catalog name, or LanguageError saying which languages there are."""
    language = language_of(tag)
    if language is None:
        raise LanguageError(
            f"unknown language {tag!r}: use zh-CN (Simplified Chinese, the default) or en"
        )
    return language


def negotiate(accept_language: str | None, default: str) -> str:
    """The catalog an `Accept-Language` header asks for first (by q-value), else *default*."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        language = language_of(tag) if tag.strip() else None
        # Ties keep the header's order: the earlier tag wins.
        if language is not None and q > 0 and (best is None or (q, -position) > best[:2]):
            best = (q, -position, language)
    return best[2] if best is not None else default


class _Missing(gettext.NullTranslations):
    """A link in a catalog's fallback chain: reports the message it is asked for as missing in
    *language*, then asks the next link (English), or gives the English message id itself."""

    def __init__(self, language: str, hook: MissingHook) -> None:
        super().__init__()
        self.language = language
        self.hook = hook

    def gettext(self, message: str) -> str:
        self.hook(self.language, message)
        return super().gettext(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        self.hook(self.language, msgid1)
        return super().ngettext(msgid1, msgid2, n)


class Translator:
    """The messages of one language; `gettext` never returns a blank or an unknown id."""

    def __init__(self, language: str, translations: gettext.NullTranslations) -> None:
        self.language = language
        self._translations = translations

    def gettext(self, message: str) -> str:
        return self._translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._translations.ngettext(singular, plural, n)


def _read(directory: Path, language: str) -> bytes | None:
    path = directory / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        log.warning(
            "no compiled catalog %s: its messages are shown in English "
            "(reinstall the package, or run `make messages`, to compile the .po files)",
            path,
        )
        return None


class Catalogs:
    """Every language's catalog, loaded once per gateway; missing messages fall back to
    English and are reported to *on_missing* (the gateway counts them at /metrics)."""

    def __init__(
        self,
        default: str = DEFAULT_LANGUAGE,
        on_missing: MissingHook | None = None,
        directory: Path = LOCALE_DIR,
    ) -> None:
        self.default = checked_language(default)
        self._on_missing = on_missing
        self._reported: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        compiled = {language: _read(directory, language) for language in LANGUAGES}
        self._translators: dict[str, Translator] = {}
        for language in LANGUAGES:
            # zh_CN's catalog, then English's, each followed by a link that reports the miss;
            # the last link gives the English message id itself, never a blank.
            links: list[gettext.NullTranslations] = []
            for step in dict.fromkeys((language, "en")):
                data = compiled[step]
                if data is not None:
                    links.append(gettext.GNUTranslations(io.BytesIO(data)))
                links.append(_Missing(step, self._missing))
            for link in links[1:]:
                links[0].add_fallback(link)
            self._translators[language] = Translator(language, links[0])

    def translator(self, language: str | None = None) -> Translator:
        """The translator of *language* (a catalog name from `language_of`), else the default."""
        return self._translators[language or self.default]

    def _missing(self, language: str, message: str) -> None:
        if self._on_missing is not None:
            self._on_missing(language, message)
        with self._lock:
            first = (language, message) not in self._reported
            self._reported.add((language, message))
        if first:
            log.warning("no %s translation of %r: shown in English", language, message)


class Worded(Exception):
    """An error people read: a catalog message (marked with N_ where it is raised) and its
    values, so that whoever shows it can word it in the reader's language; str() is English."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message.format(**values))
        self.message = message
        self.values = values

    def words(self, translator: Translator) -> str:
        values = {
            k: v.words(translator) if isinstance(v, Worded) else v for k, v in self.values.items()
        }
        return translator.gettext(self.message).format(**values)


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined (a table of names); it is translated
    where it is shown, with a translator of the reader's language."""
    return message
