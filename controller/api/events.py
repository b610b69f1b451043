"""The live event stream (Server-Sent Events): incident and alert lifecycle events as they happen."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from controller.api.deps import AUTH_RESPONSES, ControllerDep, Reader

router = APIRouter(prefix="/api", tags=["events"], responses=AUTH_RESPONSES)
KEEPALIVE_S = 15.0


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "event: incident|alert, data: JSON"}},
)
async def event_stream(request: Request, _: Reader, controller: ControllerDep) -> StreamingResponse:
    queue = controller.bus.subscribe()

    async def stream() -> AsyncIterator[str]:
        try:
            yield ": connected\n\n"
            while not await request.is_disconnected():
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"  # keeps proxies from closing an idle stream
                    continue
                yield f"event: {event.kind}\nid: {event.id}\ndata: {json.dumps(event.payload())}\n\n"
        finally:
            controller.bus.unsubscribe(queue)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
