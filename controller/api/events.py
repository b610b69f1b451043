"""The live event stream (Server-Sent Events): incident and alert lifecycle events as they happen, and the
blocking state and sensors' health whenever they change."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from controller.api.deps import AUTH_RESPONSES, ControllerDep, Reader
from controller.api.sensor_watch import sensor_watch
from controller.api.sse import sse_response

router = APIRouter(prefix="/api", tags=["events"], responses=AUTH_RESPONSES)


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "event: incident|alert|blocking|sensors, data: JSON"}
    },
)
async def event_stream(request: Request, _: Reader, controller: ControllerDep) -> StreamingResponse:
    watch = sensor_watch(request.app)
    await watch.baseline()
    return sse_response(
        request,
        controller.bus,
        lambda event: f"event: {event.kind}\nid: {event.id}\ndata: {json.dumps(event.payload())}\n\n",
        watch.listening,
    )
