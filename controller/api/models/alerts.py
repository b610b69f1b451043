"""Models for alerts."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AlertOut(BaseModel):
    id: str
    rule: str = Field(description="new_incident, repeat_activity, lockup_activity, sensor_silent, clock_drift, loss")
    alert_class: str = Field(description="incident or system")
    severity: str
    incident_id: str | None
    sensor_id: str | None
    message: str
    active: bool
    occurrences: int = Field(description="Times the rule fired on this alert (throttled repeats)")
    created_at: float
    last_at: float
    ended_at: float | None
    acknowledged_by: str | None
