"""Sensor health for the control room (availability, last seen, clock offset, loss, spool depth) and a live
spectrum/waterfall of one sensor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse

from controller.api.sensors import sensor_views
from controller.api.spectrum import SensorId
from controller.sensor_commands import CommandNotSent, known_sensor
from controller.spectrum_streams import start_spectrum_stream
from controller.web.session import ControllerDep, Officer, Reader, check_csrf
from controller.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/sensors")
def sensors_page(request: Request, viewer: Reader, controller: ControllerDep) -> HTMLResponse:
    views = sensor_views(controller)
    now_s = controller.clock()
    spectrum_max_s = controller.config.captures.spectrum_max_s
    return render(request, "sensors.html", viewer, sensors=views, now_s=now_s, spectrum_max_s=spectrum_max_s)


def _spectrum_page(
    request: Request, viewer, controller, sensor_id: str, started_s: float | None = None, error: str | None = None
) -> HTMLResponse:
    if not known_sensor(controller, sensor_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no sensor {sensor_id}")
    return render(
        request,
        "sensor_spectrum.html",
        viewer,
        status.HTTP_409_CONFLICT if error else status.HTTP_200_OK,
        sensor_id=sensor_id,
        max_s=controller.config.captures.spectrum_max_s,
        started_s=started_s,
        error=error,
    )


@router.get("/sensors/{sensor_id}/spectrum")
def spectrum_page(
    request: Request,
    sensor_id: SensorId,
    viewer: Reader,
    controller: ControllerDep,
    started: Annotated[float | None, Query(gt=0, le=600)] = None,
) -> HTMLResponse:
    """Live spectrum and waterfall of one sensor; officers start (or extend) the sensor's stream here."""
    return _spectrum_page(request, viewer, controller, sensor_id, started)


@router.post("/sensors/{sensor_id}/spectrum", response_model=None)
def start_spectrum(
    request: Request,
    sensor_id: SensorId,
    viewer: Officer,
    controller: ControllerDep,
    duration_s: Annotated[float, Form(gt=0, le=600)] = 60,
    csrf: Annotated[str, Form()] = "",
) -> RedirectResponse | HTMLResponse:
    check_csrf(viewer, csrf)
    try:
        _, duration_s = start_spectrum_stream(controller, viewer.username, sensor_id, duration_s)
    except CommandNotSent as exc:
        return _spectrum_page(request, viewer, controller, sensor_id, error=str(exc))
    return RedirectResponse(f"/sensors/{sensor_id}/spectrum?started={duration_s:g}", status.HTTP_303_SEE_OTHER)
