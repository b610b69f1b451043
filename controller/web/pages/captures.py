"""IQ captures on the incident page: ask the best sensors for one, watch them arrive, see the spectrogram,
attach a snippet to the incident's case as evidence."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy import select

from cellward.recording import RecordingError
from controller.api import requests as requests_api
from controller.captures import incident_captures, request_captures
from controller.db.captures import IncidentCapture
from controller.incidents import IncidentNotFoundError
from controller.requests.errors import WorkflowError
from controller.requests.models import CaseIncident, CaseSnippet
from controller.sensor_commands import CommandNotSent
from controller.spectrogram import spectrogram
from controller.web.session import ControllerDep, Officer, Reader, check_csrf
from controller.web.templating import render

router = APIRouter(include_in_schema=False)


def captures_context(controller, incident_id: str) -> dict:
    """What the captures panel shows: the captures, the incident's cases, and which snippets each case holds."""
    captures = incident_captures(controller, incident_id)
    cases: list[str] = []
    attached: set[tuple[str, str]] = set()
    if controller.requests is not None:
        with controller.sessions() as db:
            cases = list(db.scalars(select(CaseIncident.case_id).where(CaseIncident.incident_id == incident_id)))
            rows = db.execute(select(CaseSnippet.case_id, CaseSnippet.path).where(CaseSnippet.case_id.in_(cases)))
            attached = {(case_id, path) for case_id, path in rows}
    return {
        "captures": captures,
        "cases": cases,
        "attached": attached,
        "pending": any(c.status == "requested" for c in captures),
        "captures_enabled": controller.snippets.folder is not None,
    }


@router.get("/incidents/{incident_id}/captures")
def captures_panel(request: Request, incident_id: str, viewer: Reader, controller: ControllerDep) -> HTMLResponse:
    """The panel alone, which the page polls while a capture is on its way."""
    return render(
        request,
        "incident_captures.html",
        viewer,
        incident_id=incident_id,
        capture_error=None,
        **captures_context(controller, incident_id),
    )


@router.post("/incidents/{incident_id}/capture", response_model=None)
def capture(
    request: Request, incident_id: str, viewer: Officer, controller: ControllerDep, csrf: Annotated[str, Form()] = ""
) -> RedirectResponse | HTMLResponse:
    check_csrf(viewer, csrf)
    try:
        request_captures(controller, viewer.username, incident_id)
    except IncidentNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}") from None
    except CommandNotSent as exc:
        return render(
            request,
            "incident_captures.html",
            viewer,
            status.HTTP_409_CONFLICT,
            incident_id=incident_id,
            capture_error=str(exc),
            **captures_context(controller, incident_id),
        )
    return RedirectResponse(f"/incidents/{incident_id}#captures", status.HTTP_303_SEE_OTHER)


def _capture(controller, incident_id: str, capture_id: int) -> IncidentCapture:
    with controller.sessions() as db:
        row = db.get(IncidentCapture, capture_id)
    if row is None or row.incident_id != incident_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no capture {capture_id} for incident {incident_id}")
    if row.file is None or controller.snippets.folder is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"capture {capture_id} has not been delivered ({row.status})")
    return row


@router.get("/incidents/{incident_id}/captures/{capture_id}/spectrogram.json")
def capture_spectrogram(incident_id: str, capture_id: int, _: Reader, controller: ControllerDep) -> JSONResponse:
    row = _capture(controller, incident_id, capture_id)
    try:
        result = spectrogram(controller.snippets.folder / row.file)
    except RecordingError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"snippet {row.file}: {exc}") from None
    return JSONResponse(result.as_json(), headers={"Cache-Control": "private, max-age=3600"})


@router.post("/incidents/{incident_id}/captures/{capture_id}/attach")
def attach(
    incident_id: str,
    capture_id: int,
    viewer: Officer,
    controller: ControllerDep,
    case_id: Annotated[str, Form(min_length=1, max_length=64)],
    csrf: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Attach the delivered snippet to one of the incident's cases (the workflow checks and audits it)."""
    check_csrf(viewer, csrf)
    row = _capture(controller, incident_id, capture_id)
    workflow = requests_api.get_workflow(controller)
    try:
        workflow.attach_snippet(viewer.principal, case_id, row.file)
    except WorkflowError as exc:
        raise HTTPException(exc.http_status, str(exc)) from None
    return RedirectResponse(f"/incidents/{incident_id}#captures", status.HTTP_303_SEE_OTHER)
