"""Incidents: list and filter, detail with timeline, lifecycle transitions and notes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import select

from controller.api.deps import AUTH_RESPONSES, NOT_FOUND, ControllerDep, Officer, Reader
from controller.api.models.incidents import (
    ActivityOut,
    IncidentDetail,
    IncidentOut,
    NoteOut,
    NoteRequest,
    Status,
    TransitionOut,
    TransitionRequest,
)
from controller.db.incidents import IncidentActivity, IncidentNote, IncidentRecord, IncidentTransition
from controller.incidents import IncidentNotFoundError, TransitionError

router = APIRouter(prefix="/api/incidents", tags=["incidents"], responses=AUTH_RESPONSES)


def _out(incident: IncidentRecord) -> IncidentOut:
    return IncidentOut.model_validate(incident, from_attributes=True)


@router.get("")
def list_incidents(
    _: Reader,
    controller: ControllerDep,
    status_: Annotated[list[Status] | None, Query(alias="status")] = None,
    wing: Annotated[str | None, Query(max_length=16)] = None,
    landing: Annotated[int | None, Query(ge=-10, le=100)] = None,
    cell_id: Annotated[str | None, Query(max_length=64)] = None,
    technology: Annotated[str | None, Query(max_length=16)] = None,
    suppressed: Annotated[bool | None, Query(description="Default: only incidents that are not suppressed")] = False,
    since: Annotated[float | None, Query(description="Last seen at or after, UTC epoch s")] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 200,
) -> list[IncidentOut]:
    query = select(IncidentRecord).order_by(IncidentRecord.last_seen.desc()).limit(limit)
    if status_:
        query = query.where(IncidentRecord.status.in_(status_))
    if wing is not None:
        query = query.where(IncidentRecord.wing == wing)
    if landing is not None:
        query = query.where(IncidentRecord.landing == landing)
    if cell_id is not None:
        query = query.where(IncidentRecord.cell_id == cell_id)
    if technology is not None:
        query = query.where(IncidentRecord.technology == technology)
    if suppressed is not None:
        query = query.where(IncidentRecord.suppressed.is_(suppressed))
    if since is not None:
        query = query.where(IncidentRecord.last_seen >= since)
    with controller.sessions() as db:
        return [_out(incident) for incident in db.scalars(query)]


@router.get("/{incident_id}", responses=NOT_FOUND)
def get_incident(incident_id: str, _: Reader, controller: ControllerDep) -> IncidentDetail:
    with controller.sessions() as db:
        incident = db.get(IncidentRecord, incident_id)
        if incident is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}")
        timeline = db.scalars(
            select(IncidentActivity)
            .where(IncidentActivity.incident_id == incident_id)
            .order_by(IncidentActivity.start_s)
        )
        transitions = db.scalars(
            select(IncidentTransition)
            .where(IncidentTransition.incident_id == incident_id)
            .order_by(IncidentTransition.at, IncidentTransition.id)
        )
        notes = db.scalars(
            select(IncidentNote).where(IncidentNote.incident_id == incident_id).order_by(IncidentNote.at)
        )
        return IncidentDetail(
            **_out(incident).model_dump(),
            timeline=[ActivityOut.model_validate(a, from_attributes=True) for a in timeline],
            transitions=[TransitionOut.model_validate(t, from_attributes=True) for t in transitions],
            notes=[NoteOut.model_validate(n, from_attributes=True) for n in notes],
        )


@router.post(
    "/{incident_id}/transition", responses={**NOT_FOUND, 409: {"description": "Move not allowed from current status"}}
)
def transition_incident(
    incident_id: str, body: TransitionRequest, principal: Officer, controller: ControllerDep
) -> IncidentOut:
    try:
        incident = controller.incidents.transition(incident_id, body.status, principal.username, body.comment)
    except IncidentNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}") from None
    except TransitionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return _out(incident)


@router.post("/{incident_id}/notes", status_code=201, responses=NOT_FOUND)
def add_note(incident_id: str, body: NoteRequest, principal: Officer, controller: ControllerDep) -> NoteOut:
    try:
        note = controller.incidents.add_note(incident_id, principal.username, body.text)
    except IncidentNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}") from None
    return NoteOut.model_validate(note, from_attributes=True)
