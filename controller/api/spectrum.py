"""A sensor's live spectrum: start a stream (officer) and follow it as Server-Sent Events (readers)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from controller.api.deps import AUTH_RESPONSES, ControllerDep, Officer, Reader
from controller.api.events import KEEPALIVE_S
from controller.sensor_commands import CommandNotSent, known_sensor
from controller.spectrum_streams import start_spectrum_stream

router = APIRouter(prefix="/api/sensors", tags=["sensors"], responses=AUTH_RESPONSES)
SensorId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]


class StreamRequest(BaseModel):
    duration_s: float = Field(default=60, gt=0, le=600, description="How long the sensor streams (capped by config)")


class StreamStarted(BaseModel):
    command_id: str
    duration_s: float


@router.post("/{sensor_id}/spectrum", status_code=status.HTTP_202_ACCEPTED, responses={409: {}})
def start_stream(sensor_id: SensorId, body: StreamRequest, actor: Officer, controller: ControllerDep) -> StreamStarted:
    """Send the sensor `stream_spectrum`; frames then arrive on GET of the same path."""
    try:
        command_id, duration_s = start_spectrum_stream(controller, actor.username, sensor_id, body.duration_s)
    except CommandNotSent as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return StreamStarted(command_id=command_id, duration_s=duration_s)


@router.get(
    "/{sensor_id}/spectrum",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "event: spectrum, data: JSON frame"}},
)
async def spectrum_stream(
    request: Request, sensor_id: SensorId, _: Reader, controller: ControllerDep
) -> StreamingResponse:
    """The sensor's spectrum frames as they arrive (cellward.spectrum/1 fields, levels still base64)."""
    if not known_sensor(controller, sensor_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no sensor {sensor_id}")
    queue = controller.spectra.bus.subscribe()

    async def stream() -> AsyncIterator[str]:
        try:
            yield ": connected\n\n"
            while not await request.is_disconnected():
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if event.sensor_id == sensor_id:
                    yield f"event: spectrum\nid: {event.id}\ndata: {json.dumps(event.payload())}\n\n"
        finally:
            controller.spectra.bus.unsubscribe(queue)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
