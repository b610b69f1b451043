"""Alerts: list (active first) and acknowledge."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import select

from controller.api.deps import AUTH_RESPONSES, NOT_FOUND, ControllerDep, Officer, Reader
from controller.api.models.alerts import AlertOut
from controller.db.incidents import AlertRecord

router = APIRouter(prefix="/api/alerts", tags=["alerts"], responses=AUTH_RESPONSES)


@router.get("")
def list_alerts(
    _: Reader,
    controller: ControllerDep,
    active: Annotated[bool | None, Query(description="Only active (true) or ended (false) alerts")] = None,
    alert_class: Annotated[Literal["incident", "system"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 200,
) -> list[AlertOut]:
    query = select(AlertRecord).order_by(AlertRecord.active.desc(), AlertRecord.last_at.desc()).limit(limit)
    if active is not None:
        query = query.where(AlertRecord.active.is_(active))
    if alert_class is not None:
        query = query.where(AlertRecord.alert_class == alert_class)
    with controller.sessions() as db:
        return [AlertOut.model_validate(alert, from_attributes=True) for alert in db.scalars(query)]


@router.post("/{alert_id}/acknowledge", responses=NOT_FOUND)
def acknowledge_alert(alert_id: str, principal: Officer, controller: ControllerDep) -> AlertOut:
    with controller.incidents.lock, controller.sessions() as db:
        alert = db.get(AlertRecord, alert_id)
        if alert is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}")
        event = controller.alerts.acknowledge(db, alert, principal.username)
        db.commit()
    if event is not None:
        controller.bus.emit(event)
    return AlertOut.model_validate(alert, from_attributes=True)
