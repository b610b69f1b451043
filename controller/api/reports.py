"""Raw activity reports (kept for the retention period), filtered by sensor, time, band and technology."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from controller.api.deps import AUTH_RESPONSES, ControllerDep, Officer
from controller.api.models.reports import ReportOut
from controller.db.reports import Report

router = APIRouter(prefix="/api/reports", tags=["reports"], responses=AUTH_RESPONSES)


@router.get("")
def list_reports(
    _: Officer,
    controller: ControllerDep,
    sensor_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[float | None, Query(description="Window start at or after, UTC epoch s")] = None,
    until: Annotated[float | None, Query(description="Window start before, UTC epoch s")] = None,
    band: Annotated[str | None, Query(max_length=16)] = None,
    technology: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[ReportOut]:
    query = select(Report).order_by(Report.window_start.desc()).limit(limit)
    if sensor_id is not None:
        query = query.where(Report.sensor_id == sensor_id)
    if since is not None:
        query = query.where(Report.window_start >= since)
    if until is not None:
        query = query.where(Report.window_start < until)
    if band is not None:
        query = query.where(Report.band == band)
    if technology is not None:
        query = query.where(Report.technology == technology)
    with controller.sessions() as db:
        return [ReportOut.model_validate(report, from_attributes=True) for report in db.scalars(query)]
