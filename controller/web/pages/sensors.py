"""Sensor health for the control room: availability, last seen, clock offset, loss, spool depth."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from controller.api.sensors import sensor_views
from controller.web.session import ControllerDep, Reader
from controller.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/sensors")
def sensors_page(request: Request, viewer: Reader, controller: ControllerDep) -> HTMLResponse:
    views = sensor_views(controller)
    now_s = controller.clock()
    return render(request, "sensors.html", viewer, sensors=views, now_s=now_s)
