"""Blocking: blocker units, the zones they cover and their state, from the site model.

Switching, policies, emergency all-off and interlock alarms belong to controller/blocking (h-blocking),
which this controller does not have yet; the page lists the units and says that control is not wired.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from controller.web.pages.live_map import blocker_marks
from controller.web.session import ControllerDep, Operator
from controller.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/blocking")
def blocking_page(request: Request, viewer: Operator, controller: ControllerDep) -> HTMLResponse:
    zones = {zone.id: zone for zone in controller.site.zones}
    return render(request, "blocking.html", viewer, blockers=blocker_marks(controller), zones=zones)
