"""The command line's words in the deployment's language, from the gateway's catalogs."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Protocol, cast, runtime_checkable

# The words are in the gateway's catalogs, in the deployment's language (CAMPUSEDGE_LANGUAGE,
# zh-CN by default). Named as a module path, so that the vocabulary package (and the edge and
# simulators that use it) import no service, and loaded only when something is shown.
LANGUAGE_MODULE = "gateway.cli.language"


def N_(message: str) -> str:
    """Marks a message for the catalogs where it is written; `_` translates it when shown."""
    return message


def _(message: str) -> str:
    """*message* in the deployment's language; English on an install without the gateway."""
    try:
        words = importlib.import_module(LANGUAGE_MODULE)
    except ImportError:
        return message
    return cast(Callable[[str], str], words.gettext)(message)


def error_line(prog: str, error: object) -> str:
    """`prog: error` as the reader's language writes it (a full-width colon in Chinese);
    *error* is shown as it is, already in the reader's language or another program's words."""
    return _("{prog}: {error}").format(prog=prog, error=error)


class Translates(Protocol):
    """What words a message: the gateway's Translator, or the deployment's language here."""

    def gettext(self, message: str) -> str: ...


@runtime_checkable
class Wording(Protocol):
    """An error that can word itself in a reader's language (Shown, the gateway's Worded)."""

    def words(self, translator: Translates) -> str: ...


class Shown(Exception):
    """An error shown to people, in one of three ways: a catalog message (marked with N_) with
    the *values* of its placeholders (or with catalog=True when it has none), worded in the
    reader's language; another error, in its words when it has them, else its own text; or a
    text alone (a library's, or one built from several), as it is. str() is English, for logs.
    """

    def __init__(
        self, message: str | BaseException, *, catalog: bool = False, **values: object
    ) -> None:
        text = message.format(**values) if isinstance(message, str) and values else message
        super().__init__(str(text))
        # Named apart from the gateway's Worded (message, values): a class may be both, and
        # then Worded's words are its words.
        self._shown = message
        self._shown_values = values
        self._catalog = catalog or bool(values)

    def words(self, translator: Translates) -> str:
        if isinstance(self._shown, Wording):
            return self._shown.words(translator)
        if isinstance(self._shown, BaseException) or not self._catalog:
            return str(self._shown)
        values = {
            k: v.words(translator) if isinstance(v, Wording) else v
            for k, v in self._shown_values.items()
        }
        return translator.gettext(self._shown).format(**values)


class _Deployment:
    """The deployment's language as a translator (see `_`)."""

    def gettext(self, message: str) -> str:
        return _(message)


def error_text(exc: BaseException) -> str:
    """An error's message in the deployment's language where it words itself; another
    library's (or the system's) text as it is."""
    return exc.words(_Deployment()) if isinstance(exc, Wording) else str(exc)
