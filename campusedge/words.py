"""The command line's words in the deployment's language, from the gateway's catalogs."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

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
