"""Refusals people read: an HTTP error whose `detail` is a catalog message, translated into the
language negotiated for the request (the status code and headers are the machine's part)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse

from gateway.i18n import Worded, negotiate


class Refusal(HTTPException):
    """`HTTPException(status, detail)` with *message* a catalog id (marked with N_ where it is
    written) and *values* its placeholders; its English text is the exception's detail."""

    def __init__(
        self,
        status_code: int,
        message: str,
        headers: Mapping[str, str] | None = None,
        **values: Any,
    ) -> None:
        super().__init__(status_code, message.format(**values), dict(headers or {}))
        self.message = message
        self.values = values

    @classmethod
    def of(cls, status_code: int, error: Worded) -> Refusal:
        """A refusal saying what a lower layer's *error* says, in the reader's language."""
        return cls(status_code, error.message, None, **error.values)


async def _answer(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refusal)
    catalogs = request.app.state.gateway.catalogs
    language = negotiate(request.headers.get("accept-language"), catalogs.default)
    translator = catalogs.translator(language)
    # A value that is itself a worded error (a lower layer's reason) is worded alike.
    values = {k: v.words(translator) if isinstance(v, Worded) else v for k, v in exc.values.items()}
    detail = translator.gettext(exc.message).format(**values)
    headers = {
        **(exc.headers or {}),
        "Content-Language": language.replace("_", "-"),
        "Vary": "Accept-Language",
    }
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)


def translate_refusals(app: FastAPI) -> None:
    """Answer every Refusal of *app*'s routes in the reader's language."""
    app.add_exception_handler(Refusal, _answer)
