"""The command line's words in the deployment's language (CAMPUSEDGE_LANGUAGE, zh-CN default)."""

from __future__ import annotations

import os
from functools import cache

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
