"""Refuse request bodies over a size limit with 413, before the app reads, parses or authenticates.

An ASGI middleware, outside everything else: a declared Content-Length over the limit is
answered without the body ever reaching the app (read and dropped when it is only a little
over, so that the client hears the answer; not read at all beyond that); a body without one
(chunked) is counted as it is received and cut off when it passes the limit, so no route
ever holds more than the limit in memory.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The largest legitimate body is a roster import: 2,000 students with three card ids each
# measure about 0.25 MB as UTF-8 CSV (docs/gateway.md), so 4 MiB leaves a margin of 16.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
# A declared body up to this many times the limit is read (and dropped) before the 413, so
# that the client hears why; a larger one is refused at once and the connection closed.
DRAIN_FACTOR = 2


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a body without Content-Length passes the limit.

    An HTTPException, so that FastAPI's body parsing passes it on (other errors there become
    400) and the app's exception handler answers 413.
    """

    def __init__(self, limit: int) -> None:
        # The rest of the body stays unread: the connection cannot carry another request.
        super().__init__(413, _detail(limit), headers={"connection": "close"})


def _detail(limit: int) -> str:
    return (
        f"request body larger than {limit} bytes; the limit is CAMPUSEDGE_API_MAX_BODY_BYTES "
        "(split a roster import into several files)"
    )


class BodyLimit:
    """ASGI middleware: 413 for an HTTP request body over *limit* bytes."""

    def __init__(self, app: ASGIApp, limit: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            if declared <= DRAIN_FACTOR * self.limit:
                # A little over (a roster too large): read and drop the body first, so that the
                # client, still sending, gets the answer rather than a reset connection.
                await _drain(receive)
            await self._refuse(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            # Read outside FastAPI's handlers (a route reading `request.stream()` itself).
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": _detail(self.limit)}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    # The rest of the body is not read: the connection cannot be reused.
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None
