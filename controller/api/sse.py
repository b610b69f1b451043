"""Server-Sent Events from one of the controller's event buses, with keep-alives for idle streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from controller.events import EventBus

KEEPALIVE_S = 15.0


def sse_response(
    request: Request,
    bus: EventBus,
    render: Callable[[Any], str | None],
    while_open: Callable[[], AbstractAsyncContextManager[Any]] = nullcontext,
) -> StreamingResponse:
    """Stream `bus` to the client until it disconnects; `render` makes an event's SSE text, None to skip it.
    `while_open` is entered before the first byte and left when the stream ends (a watch that feeds the bus)."""
    queue = bus.subscribe()

    async def stream() -> AsyncIterator[str]:
        try:
            async with while_open():
                yield ": connected\n\n"
                while not await request.is_disconnected():
                    try:
                        event = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                    except TimeoutError:
                        yield ": keep-alive\n\n"  # keeps proxies from closing an idle stream
                        continue
                    text = render(event)
                    if text is not None:
                        yield text
        finally:
            bus.unsubscribe(queue)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
