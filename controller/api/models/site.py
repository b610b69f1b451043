"""Models for zones and the site map geometry."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ZoneOut(BaseModel):
    id: str
    kind: str
    phones_authorised: bool
    never_block: bool
    sensitive: bool
    authorised_schedules: list[str] = Field(description="Configured suppression windows, e.g. 'mon-fri 09:00-17:00'")


class RoomOut(BaseModel):
    id: str
    kind: str
    wing: str | None
    landing: int
    zone: str | None
    polygon: list[tuple[float, float]]


class PlacementOut(BaseModel):
    id: str
    position: tuple[float, float, float]
    role: str | None = None


class SiteMap(BaseModel):
    name: str
    floor_height_m: float
    rooms: list[RoomOut]
    sensors: list[PlacementOut]
    blockers: list[PlacementOut]
    perimeter: list[tuple[float, float]]
