"""Models for sensor status, health, clock and measured loss."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class SensorOut(BaseModel):
    id: str
    role: str | None = Field(description="internal or perimeter, from the site file (None if not placed)")
    position: tuple[float, float, float] | None = Field(description="x, y, z in site metres")
    availability: str = Field(description="online, stopped, offline (broker last will) or unknown")
    healthy: bool = Field(description="Recently heard, clock within tolerance, loss below the alert level")
    problems: list[str] = Field(description="Why it is not healthy")
    last_seen: float | None = Field(description="Last message received, UTC epoch s")
    clock_offset_s: float | None = Field(description="Sensor clock minus controller clock, seconds (from status)")
    messages_received: int
    messages_lost: int = Field(description="Missing by seq gap (measured loss)")
    lost_fraction: float
    duplicates: int
    highest_seq: int | None
    status: dict[str, Any] | None = Field(description="Last retained status message")
    stats: dict[str, Any] | None = Field(description="Last stats message")
