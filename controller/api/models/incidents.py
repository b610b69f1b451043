"""Models for incidents: summaries, detail (timeline, transitions, notes), transitions and notes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["new", "acknowledged", "investigating", "request_raised", "closed"]


class IncidentOut(BaseModel):
    id: str
    status: Status
    cell_id: str | None = Field(description="Most likely cell (None when only a region is known)")
    wing: str | None
    landing: int | None
    zone: str | None
    region: list[str] = Field(description="Cells of the coverage region when the cell is not resolved")
    method: str = Field(description="rss, fingerprint or single-sensor")
    confidence: float
    runners_up: list[tuple[str, float]]
    band: str | None
    operators: list[str]
    technology: str
    freq_hz: float
    bandwidth_hz: float
    first_seen: float
    last_seen: float
    activity_count: int
    suppressed: bool
    suppression_reason: str | None
    created_at: float
    updated_at: float
    closed_at: float | None
    ended_at: float | None = Field(description="When the device was found silent (None while it is active)")


class ActivityOut(BaseModel):
    start_s: float
    end_s: float
    freq_hz: float
    technology: str
    cell_id: str | None
    confidence: float
    sensor_powers_dbm: dict[str, float]


class TransitionOut(BaseModel):
    from_status: str
    to_status: str
    actor: str
    at: float
    comment: str


class NoteOut(BaseModel):
    id: int
    author: str
    at: float
    text: str


class IncidentDetail(IncidentOut):
    timeline: list[ActivityOut]
    transitions: list[TransitionOut]
    notes: list[NoteOut]


class TransitionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Status = Field(description="Target status (forward moves only; closed from any open state)")
    comment: str = Field(default="", max_length=4000)


class NoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10000)
