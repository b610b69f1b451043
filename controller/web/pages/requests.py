"""Disconnection requests: the page the incident's "draft request" leads to.

Requests, evidence packs and their approvals belong to controller/requests (h-requests), which this
controller does not have yet; until it lands the page says so plainly instead of pretending.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from controller.web.session import Requester
from controller.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/requests")
def requests_page(
    request: Request, viewer: Requester, incident: Annotated[str | None, Query(max_length=64)] = None
) -> HTMLResponse:
    return render(request, "requests.html", viewer, incident_id=incident)
