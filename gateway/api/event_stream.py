"""A server-sent-events response that the server can end, even while the client does not read."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


class EventStream(StreamingResponse):
    """Streams *content* as `text/event-stream` until it ends, the client goes, or *cut* is set.

    Starlette's own streaming response ends only with its iterator or the client; a client
    that stops reading leaves it blocked in `send` for ever. Setting *cut* cancels the
    writing, so the server closes the connection.
    """

    def __init__(self, content: AsyncIterable[str], cut: asyncio.Event) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self.cut = cut

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def until_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        tasks = [
            asyncio.ensure_future(self.stream_response(send)),
            asyncio.ensure_future(until_disconnect()),
            asyncio.ensure_future(self.cut.wait()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                # OSError: the client went while we wrote. Anything else is raised.
                with contextlib.suppress(asyncio.CancelledError, OSError):
                    await task
