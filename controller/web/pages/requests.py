"""Disconnection requests: list, detail, drafting from an incident, authorise/reject, evidence pack links.

Every action goes through the requests workflow (controller/requests) and its API handlers, so the
two-person rule, identifier checks and audit are the workflow's, never re-implemented here. When the
controller has no `requests:` section the pages say drafting is not enabled instead of offering buttons.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from controller.api import requests as requests_api
from controller.api.models.requests import Reason
from controller.db.incidents import IncidentRecord
from controller.requests.errors import WorkflowError
from controller.requests.identifiers import KINDS, SOURCES, identifier_problem
from controller.requests.models import DisconnectionRequest, RequestIncident, RequestTransition
from controller.runtime import Controller
from controller.web.session import Authoriser, ControllerDep, Officer, Requester, check_csrf
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
    return render(
        request, "requests.html", viewer, requests=requests, incident_id=incident, enabled=_enabled(controller)
    )


def _enabled(controller: Controller) -> bool:
    return getattr(controller, "requests", None) is not None


def _incident(controller: Controller, incident_id: str) -> IncidentRecord:
    with controller.sessions() as db:
        incident = db.get(IncidentRecord, incident_id)
    if incident is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}")
    return incident


def _draft_form(request: Request, viewer, controller: Controller, incident: IncidentRecord, error=None, **values):
    return render(
        request,
        "request_new.html",
        viewer,
        status_code=400 if error else 200,
        incident=incident,
        kinds=KINDS,
        sources=SOURCES,
        enabled=_enabled(controller),
        error=error,
        values={"grounds": _default_grounds(incident), "operator": (incident.operators or [""])[0], **values},
    )


def _default_grounds(incident: IncidentRecord) -> str:
    where = incident.cell_id or "an unresolved place"
    return (
        f"{incident.technology.upper()} uplink activity on {incident.freq_hz / 1e6:.3f} MHz "
        f"({', '.join(incident.operators) or 'operator unknown'}) located in {where} "
        f"with {incident.confidence:.0%} confidence, {incident.activity_count} emissions."
    )


@router.get("/requests/new")
def draft_form(
    request: Request, viewer: Officer, controller: ControllerDep, incident: Annotated[str, Query(max_length=64)]
) -> HTMLResponse:
    return _draft_form(request, viewer, controller, _incident(controller, incident))


@router.post("/requests/new", response_model=None)
def draft(
    request: Request,
    viewer: Officer,
    controller: ControllerDep,
    incident: Annotated[str, Form(max_length=64)],
    kind: Annotated[str, Form(max_length=16)] = "",
    value: Annotated[str, Form(max_length=64)] = "",
    source: Annotated[str, Form(max_length=32)] = "",
    source_reference: Annotated[str, Form(max_length=256)] = "",
    grounds: Annotated[str, Form(max_length=10000)] = "",
    operator: Annotated[str, Form(max_length=64)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Open a case for the incident, attach the identifier, draft the request: one form, three workflow steps."""
    check_csrf(viewer, csrf)
    record = _incident(controller, incident)
    values = {"kind": kind, "value": value, "source": source, "source_reference": source_reference}
    values |= {"grounds": grounds, "operator": operator}
    if not _enabled(controller):
        return _draft_form(request, viewer, controller, record, "requests are not enabled on this controller", **values)
    # Check the identifier before opening the case, so a typo leaves no half-made case behind.
    problem = identifier_problem(kind, value.strip()) or (
        None if source in SOURCES else f"choose where the identifier came from: {', '.join(SOURCES)}"
    )
    if problem:
        return _draft_form(request, viewer, controller, record, problem, **values)
    workflow = controller.requests.workflow
    try:
        case = workflow.open_case(viewer.principal, [incident], summary=f"from incident {incident}")
        workflow.add_identifier(viewer.principal, case.id, kind, value, source, source_reference)
        drafted = workflow.draft(viewer.principal, case.id, grounds, operator or None)
    except WorkflowError as exc:
        return _draft_form(request, viewer, controller, record, str(exc), **values)
    return RedirectResponse(f"/requests/{drafted.id}", status.HTTP_303_SEE_OTHER)


def _workflow(controller: Controller):
    return requests_api.get_workflow(controller)  # 404 with the API's message when requests are off


@router.post("/requests/{request_id}/authorise")
def authorise(
    request_id: str, viewer: Authoriser, controller: ControllerDep, csrf: Annotated[str, Form()] = ""
) -> RedirectResponse:
    check_csrf(viewer, csrf)
    requests_api.authorise(request_id, viewer.principal, _workflow(controller))  # the API's handler: one path
    return RedirectResponse(f"/requests/{request_id}", status.HTTP_303_SEE_OTHER)


@router.post("/requests/{request_id}/reject")
def reject(
    request_id: str,
    viewer: Authoriser,
    controller: ControllerDep,
    reason: Annotated[str, Form(min_length=1, max_length=4000)],
    csrf: Annotated[str, Form()] = "",
) -> RedirectResponse:
    check_csrf(viewer, csrf)
    body = Reason(reason=reason)
    requests_api.reject(request_id, body, viewer.principal, _workflow(controller))
    return RedirectResponse(f"/requests/{request_id}", status.HTTP_303_SEE_OTHER)


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
        enabled=_enabled(controller),
    )
