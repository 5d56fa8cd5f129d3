"""Refuse a NUL character (U+0000) in a request's path, query or text body with 422.

PostgreSQL text cannot hold one: an id, name or note with a NUL reached the state database and
failed there with a 500 (SQLite stores it, and a later export or display would cut it short).
No id, name or note has a use for one, so it is refused once, here, before any route runs.
"""

from __future__ import annotations

import json
import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# In a body: a raw NUL byte (CSV), or JSON's escape for one (an odd run of backslashes, so
# that an escaped backslash followed by "u0000" is text and passes).
_BODY_NUL = re.compile(rb"\x00|(?<!\\)(?:\\\\)*\\u0000")
# An XLSX workbook (a results file) is a zip, binary through and through; the XML inside it
# cannot hold a NUL, so the cells read from it have none.
_ZIP = b"PK\x03\x04"
# How much of one part is kept to scan with the next: an escape split between parts is found
# unless thousands of backslashes stand before it (and then it is taken for text).
_TAIL = 4096


def _detail(where: str) -> str:
    return f"the request's {where} holds a NUL character (U+0000), which no field may contain"


class NulInBody(HTTPException):
    """Raised from `receive` on the body's last part; FastAPI's body parsing passes an
    HTTPException on, and the app's exception handler answers 422."""

    def __init__(self) -> None:
        super().__init__(422, _detail("body"))


class NoNul:
    """ASGI middleware: 422 for a NUL in an HTTP request's path, query string or body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The path arrives percent-decoded, the query string as sent.
        where = (
            "path"
            if "\x00" in scope["path"]
            else "query"
            if b"%00" in scope.get("query_string", b"")
            else None
        )
        if where is not None:
            await _refuse(send, where)
            return
        tail = b""
        found = False
        binary: bool | None = None

        async def checking_receive() -> Message:
            nonlocal tail, found, binary
            message = await receive()
            if message["type"] == "http.request" and binary is None and message.get("body"):
                binary = message["body"].startswith(_ZIP)
            if message["type"] == "http.request" and not binary:
                # Each part is scanned with the end of the one before, so that an escape split
                # between two is seen too; only that end is kept, never the whole body.
                seen = tail + message.get("body", b"")
                found = found or _BODY_NUL.search(seen) is not None
                tail = seen[-_TAIL:]
                # Refused once the body is read: the connection stays fit for the next request.
                if found and not message.get("more_body", False):
                    raise NulInBody()
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, checking_receive, tracking_send)
        except NulInBody:
            # Read outside FastAPI's handlers (a route reading `request.stream()` itself).
            if not started:
                await _refuse(send, "body")


async def _refuse(send: Send, where: str) -> None:
    body = json.dumps({"detail": _detail(where)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
