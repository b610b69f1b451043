"""Summary statistics for the control room's overview."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import func, select

from controller.api.deps import AUTH_RESPONSES, ControllerDep, Reader
from controller.api.models.statistics import Statistics
from controller.api.sensors import sensor_views
from controller.db.incidents import AlertRecord, IncidentRecord
from controller.db.reports import Report, SensorState

router = APIRouter(prefix="/api", tags=["statistics"], responses=AUTH_RESPONSES)


@router.get("/statistics")
def statistics(_: Reader, controller: ControllerDep) -> Statistics:
    visible = IncidentRecord.suppressed.is_(False)
    with controller.sessions() as db:

        def grouped(column, *where) -> dict[str, int]:
            rows = db.execute(select(column, func.count()).where(*where).group_by(column))
            return {str(key): count for key, count in rows}

        since = controller.clock() - 24 * 3600
        last_24h = db.scalar(
            select(func.count()).select_from(IncidentRecord).where(visible, IncidentRecord.last_seen >= since)
        )
        received, lost = db.execute(
            select(
                func.coalesce(func.sum(SensorState.messages_received), 0),
                func.coalesce(func.sum(SensorState.messages_lost), 0),
            )
        ).one()
        stats = Statistics(
            incidents_by_status=grouped(IncidentRecord.status, visible),
            incidents_by_wing=grouped(IncidentRecord.wing, visible),
            incidents_by_technology=grouped(IncidentRecord.technology, visible),
            incidents_last_24h=last_24h or 0,
            active_alerts_by_severity=grouped(AlertRecord.severity, AlertRecord.active.is_(True)),
            sensors_total=0,
            sensors_healthy=0,
            messages_received=int(received),
            messages_lost=int(lost),
            reports_stored=db.scalar(select(func.count()).select_from(Report)) or 0,
        )
    views = sensor_views(controller)
    stats.sensors_total = len(views)
    stats.sensors_healthy = sum(view.healthy for view in views)
    return stats
