"""The site file: a prison's rooms, walls, zones, sensors and blockers as validated pydantic models.

Coordinates are metres in a site-local frame (x east, y north, z up). Landing n (0 = ground) spans
z in [n * floor_height_m, (n + 1) * floor_height_m). Every room edge is a wall of the room's
`wall_material` on the room's landing (shared edges of neighbouring rooms count once); `walls` adds
walls that belong to no room (the perimeter wall, a yard fence).
"""

from __future__ import annotations

import itertools
import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Point2 = tuple[float, float]
Point3 = tuple[float, float, float]

ROOM_KINDS = ("cell", "landing", "hub", "office", "visits", "exercise", "road", "other")
ZONE_KINDS = ("cells", "staff", "visits", "exercise", "hub", "outside", "other")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Material(_Strict):
    """A wall or floor material: penetration loss in dB at a few frequencies (MHz), interpolated in
    log-frequency between them and held constant beyond the ends."""

    loss_db: dict[float, float] = Field(description="Penetration loss (dB) by frequency (MHz)", min_length=1)

    def loss_at(self, freq_hz: float) -> float:
        points = sorted(self.loss_db.items())
        mhz = freq_hz / 1e6
        if mhz <= points[0][0]:
            return points[0][1]
        for (f0, l0), (f1, l1) in itertools.pairwise(points):
            if mhz <= f1:
                share = math.log(mhz / f0) / math.log(f1 / f0)
                return l0 + share * (l1 - l0)
        return points[-1][1]


class Zone(_Strict):
    id: str = Field(description="Unique zone id, e.g. 'A-cells'")
    kind: Literal[ZONE_KINDS] = Field(description="What the zone is for")  # type: ignore[valid-type]
    phones_authorised: bool = Field(False, description="Phones are allowed here (staff areas): no incidents")
    never_block: bool = Field(False, description="Blocking must never be switched on here")
    sensitive: bool = Field(False, description="Blocking here needs two people")


class RoomSpec(_Strict):
    id: str = Field(description="Unique room id, e.g. 'A-2-14' (wing A, landing 2, cell 14)")
    kind: Literal[ROOM_KINDS] = Field(description="cell, landing (corridor), hub, office, ...")  # type: ignore[valid-type]
    wing: str | None = Field(None, description="Wing letter, when the room is in a wing")
    landing: int = Field(0, ge=0, description="Floor, 0 = ground")
    polygon: list[Point2] = Field(description="Outline in metres, vertices in order, not closed", min_length=3)
    zone: str = Field(description="Id of the zone the room belongs to")
    wall_material: str | None = Field(None, description="Material of the room's walls; none for open areas")

    @field_validator("polygon")
    @classmethod
    def _simple_polygon(cls, polygon: list[Point2]) -> list[Point2]:
        if polygon_self_intersects(polygon):
            raise ValueError("the polygon crosses itself; list the vertices in order round the outline")
        if abs(polygon_area(polygon)) < 1e-6:
            raise ValueError("the polygon has no area (repeated or collinear vertices)")
        return polygon


class WallSpec(_Strict):
    a: Point2 = Field(description="One end (m)")
    b: Point2 = Field(description="The other end (m)")
    material: str = Field(description="Material id")
    landings: list[int] | None = Field(None, description="Landings the wall stands on; all when omitted")


class SensorPlacement(_Strict):
    id: str = Field(description="Sensor id, as it signs its messages")
    position: Point3 = Field(description="Antenna position (m)")
    antenna_gain_dbi: float = Field(2.0, description="Antenna gain toward the site (dBi)")
    cable_loss_db: float = Field(1.0, ge=0, description="Cable and connector loss (dB)")
    calibration_offset_db: float = Field(0.0, description="Measured minus nominal level (dB), from calibration")
    role: Literal["internal", "perimeter"] = Field("internal", description="perimeter sensors watch leakage")


class BlockerUnit(_Strict):
    id: str = Field(description="Blocker unit id")
    position: Point3 = Field(description="Antenna position (m)")
    zones: list[str] = Field(description="Zones the unit covers", min_length=1)
    bands: list[str] = Field(description="Bands it may block, e.g. ['B8', 'B20']", min_length=1)


class SiteFile(_Strict):
    """The whole site file."""

    name: str = Field(description="Site id, used in MQTT topics")
    floor_height_m: float = Field(3.0, gt=0, description="Height of one landing (m)")
    landings: int = Field(1, ge=1, description="Number of landings (floors)")
    floor_material: str = Field(description="Material of the floors between landings")
    materials: dict[str, Material] = Field(description="Materials by id")
    zones: list[Zone]
    rooms: list[RoomSpec]
    walls: list[WallSpec] = Field(default_factory=list)
    perimeter: list[Point2] = Field(description="The perimeter wall's outline", min_length=3)
    perimeter_material: str = Field(description="Material of the perimeter wall")
    sensors: list[SensorPlacement] = Field(default_factory=list)
    blockers: list[BlockerUnit] = Field(default_factory=list)


def polygon_area(polygon: list[Point2]) -> float:
    """Signed area (shoelace)."""
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1], strict=True))


def polygon_self_intersects(polygon: list[Point2]) -> bool:
    edges = list(zip(polygon, polygon[1:] + polygon[:1], strict=True))
    n = len(edges)
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # adjacent through the closing edge
            if _segments_cross(*edges[i], *edges[j]):
                return True
    return False


def _segments_cross(p: Point2, q: Point2, r: Point2, s: Point2) -> bool:
    def orient(a: Point2, b: Point2, c: Point2) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2, d3, d4 = orient(r, s, p), orient(r, s, q), orient(p, q, r), orient(p, q, s)
    return d1 * d2 < 0 and d3 * d4 < 0
