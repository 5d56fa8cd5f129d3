"""The command line's words in the deployment's language (CAMPUSEDGE_LANGUAGE, zh-CN default)."""

from __future__ import annotations

import os
from functools import cache

from campusedge.words import Wording
from gateway.i18n import Catalogs, Translator, language_of


@cache
def _catalogs() -> Catalogs:
    return Catalogs()


def translator() -> Translator:
    """The deployment's language, read when asked (a command may set it for a child); a value
    with no catalog gets the default here, where the gateway itself refuses to start."""
    tag = os.environ.get("CAMPUSEDGE_LANGUAGE", "")
    return _catalogs().translator(language_of(tag) if tag.strip() else None)


def gettext(message: str) -> str:
    return translator().gettext(message)


def error_text(exc: BaseException) -> str:
    """An error's message in the deployment's language where it words itself (the gateway's
    Worded and Shown errors); another library's (or the system's) text as it is."""
    return exc.words(translator()) if isinstance(exc, Wording) else str(exc)
