"""Disconnection requests: the list and one request's detail, read from the requests tables.

Drafting, authorising, rejecting and the evidence-pack download go through the requests workflow
(controller/requests, h-requests); until that is in this controller the pages show requests and say
plainly that those actions are not available here, rather than offering buttons that do nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from controller.db.incidents import IncidentRecord
from controller.requests.models import DisconnectionRequest, RequestIncident, RequestTransition
from controller.web.session import ControllerDep, Requester
from controller.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/requests")
def requests_page(
    request: Request,
    viewer: Requester,
    controller: ControllerDep,
    incident: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    query = select(DisconnectionRequest).order_by(DisconnectionRequest.drafted_at.desc()).limit(500)
    if incident:
        query = query.join(RequestIncident, RequestIncident.request_id == DisconnectionRequest.id).where(
            RequestIncident.incident_id == incident
        )
    with controller.sessions() as db:
        requests = list(db.scalars(query))
    return render(request, "requests.html", viewer, requests=requests, incident_id=incident)


@router.get("/requests/{request_id}")
def request_detail(request: Request, request_id: str, viewer: Requester, controller: ControllerDep) -> HTMLResponse:
    with controller.sessions() as db:
        item = db.get(DisconnectionRequest, request_id)
        if item is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no request {request_id}")
        incidents = list(
            db.scalars(
                select(IncidentRecord)
                .join(RequestIncident, RequestIncident.incident_id == IncidentRecord.id)
                .where(RequestIncident.request_id == request_id)
            )
        )
        transitions = list(
            db.scalars(
                select(RequestTransition)
                .where(RequestTransition.request_id == request_id)
                .order_by(RequestTransition.at, RequestTransition.id)
            )
        )
    # Two people: whoever drafted a request never sees the authorise controls for it.
    may_decide = viewer.may("authoriser") and viewer.username != item.drafted_by and item.status == "drafted"
    return render(
        request,
        "request.html",
        viewer,
        item=item,
        incidents=incidents,
        transitions=transitions,
        may_decide=may_decide,
    )
