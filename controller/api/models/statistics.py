"""Models for summary statistics."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Statistics(BaseModel):
    incidents_by_status: dict[str, int]
    incidents_by_wing: dict[str, int]
    incidents_by_technology: dict[str, int]
    incidents_last_24h: int
    active_alerts_by_severity: dict[str, int]
    sensors_total: int
    sensors_healthy: int
    messages_received: int
    messages_lost: int
    reports_stored: int = Field(description="Raw reports currently held (after retention)")
