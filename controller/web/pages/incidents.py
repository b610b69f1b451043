"""Incident queue and incident detail with the officer's actions: acknowledge, assign, note, draft request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from controller.captures import sensor_levels
from controller.db.auth import User
from controller.db.incidents import IncidentActivity, IncidentNote, IncidentRecord, IncidentTransition
from controller.incidents import IncidentNotFoundError, TransitionError
from controller.web.charts import bars
from controller.web.pages.captures import captures_context
from controller.web.session import ControllerDep, Officer, Reader, check_csrf
from controller.web.templating import render

router = APIRouter(include_in_schema=False)
STATUSES = ("new", "acknowledged", "investigating", "request_raised", "closed")
OPEN = STATUSES[:-1]


def _queue(controller, show: str, wing: str | None) -> list[IncidentRecord]:
    query = (
        select(IncidentRecord)
        .where(IncidentRecord.suppressed.is_(False))
        .order_by(IncidentRecord.last_seen.desc())
        .limit(500)
    )
    if show == "open":
        query = query.where(IncidentRecord.status.in_(OPEN))
    elif show == "closed":
        query = query.where(IncidentRecord.status == "closed")
    if wing:
        query = query.where(IncidentRecord.wing == wing)
    with controller.sessions() as db:
        return list(db.scalars(query))


Show = Annotated[str, Query(pattern="^(open|closed|all)$")]
Wing = Annotated[str | None, Query(max_length=16)]


@router.get("/incidents")
def incident_queue(
    request: Request, viewer: Reader, controller: ControllerDep, show: Show = "open", wing: Wing = None
) -> HTMLResponse:
    incidents = _queue(controller, show, wing)
    return render(request, "incidents.html", viewer, incidents=incidents, show=show, wing=wing or "")


@router.get("/incidents/rows")
def incident_rows(
    request: Request, viewer: Reader, controller: ControllerDep, show: Show = "open", wing: Wing = None
) -> HTMLResponse:
    """Just the table rows, for the live refresh when an incident event arrives."""
    return render(request, "incident_rows.html", viewer, incidents=_queue(controller, show, wing))


@router.get("/incidents/{incident_id}")
def incident_detail(request: Request, incident_id: str, viewer: Reader, controller: ControllerDep) -> HTMLResponse:
    with controller.sessions() as db:
        incident = db.get(IncidentRecord, incident_id)
        if incident is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}")
        timeline = list(
            db.scalars(
                select(IncidentActivity)
                .where(IncidentActivity.incident_id == incident_id)
                .order_by(IncidentActivity.start_s)
            )
        )
        transitions = list(
            db.scalars(
                select(IncidentTransition)
                .where(IncidentTransition.incident_id == incident_id)
                .order_by(IncidentTransition.at, IncidentTransition.id)
            )
        )
        notes = list(
            db.scalars(select(IncidentNote).where(IncidentNote.incident_id == incident_id).order_by(IncidentNote.at))
        )
        officers = sorted(
            user.username for user in db.scalars(select(User).where(User.active.is_(True))) if "officer" in user.roles
        )
    levels = sensor_levels(timeline)
    # Bars need a positive length: measure each level above the weakest one heard, minus a 10 dB margin.
    floor_dbm = min((row[1] for row in levels), default=0.0) - 10.0
    level_chart = bars(
        [(sensor_id, mean - floor_dbm) for sensor_id, mean, _, _ in levels],
        "Mean level at each sensor",
        shown=[f"{mean:.1f} dBm" for _, mean, _, _ in levels],
    )
    return render(
        request,
        "incident.html",
        viewer,
        incident=incident,
        timeline=timeline[-200:],
        timeline_total=len(timeline),
        transitions=transitions,
        notes=notes,
        levels=levels,
        level_chart=level_chart,
        officers=officers,
        open_states=OPEN,
        incident_id=incident_id,
        capture_error=None,
        **captures_context(controller, incident_id),
    )


def _back(incident_id: str) -> RedirectResponse:
    return RedirectResponse(f"/incidents/{incident_id}", status.HTTP_303_SEE_OTHER)


def _transition(controller, incident_id: str, target: str, actor: str, comment: str) -> None:
    try:
        controller.incidents.transition(incident_id, target, actor, comment)
    except IncidentNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}") from None
    except TransitionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@router.post("/incidents/{incident_id}/acknowledge")
def acknowledge(
    incident_id: str, viewer: Officer, controller: ControllerDep, csrf: Annotated[str, Form()] = ""
) -> RedirectResponse:
    check_csrf(viewer, csrf)
    _transition(controller, incident_id, "acknowledged", viewer.username, "acknowledged in the control room")
    return _back(incident_id)


@router.post("/incidents/{incident_id}/assign")
def assign(
    incident_id: str,
    viewer: Officer,
    controller: ControllerDep,
    assignee: Annotated[str, Form(min_length=1, max_length=64)],
    csrf: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Assigning starts the investigation; the assignee is recorded in the attributed transition."""
    check_csrf(viewer, csrf)
    with controller.sessions() as db:
        incident = db.get(IncidentRecord, incident_id)
        if incident is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}")
        current = incident.status
    comment = f"assigned to {assignee}"
    if current in ("new", "acknowledged"):
        _transition(controller, incident_id, "investigating", viewer.username, comment)
    else:
        # Already investigating or further on: record the (re)assignment without moving the status.
        controller.incidents.add_note(incident_id, viewer.username, comment)
    return _back(incident_id)


@router.post("/incidents/{incident_id}/notes")
def add_note(
    incident_id: str,
    viewer: Officer,
    controller: ControllerDep,
    text: Annotated[str, Form(min_length=1, max_length=10000)],
    csrf: Annotated[str, Form()] = "",
) -> RedirectResponse:
    check_csrf(viewer, csrf)
    try:
        controller.incidents.add_note(incident_id, viewer.username, text)
    except IncidentNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}") from None
    return _back(incident_id)
