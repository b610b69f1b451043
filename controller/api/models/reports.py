"""Models for raw activity reports."""

from __future__ import annotations

from pydantic import BaseModel


class ReportOut(BaseModel):
    id: int
    sensor_id: str
    received_at: float
    window_start: float
    window_end: float
    freq_hz: float
    bandwidth_hz: float
    band: str | None
    operators: list[str]
    technology: str
    burst_count: int
    duty_cycle: float
    mean_power_dbm: float
    peak_power_dbm: float
    snr_db: float
