"""The site file's schema: pydantic models for wings, rooms, walls, floors, materials, zones, sensors and blockers."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator

Point2 = tuple[float, float]
Point3 = tuple[float, float, float]

# The four RTL-SDR-reachable UK uplink bands (SYSTEM.md 3.1); every material states its loss at each of them
# so no band is ever extrapolated.
REQUIRED_MATERIAL_BANDS_MHZ = (700.0, 800.0, 900.0, 1800.0)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _polygon(points: list[Point2]) -> list[Point2]:
    """Accept a ring written open or closed (first point repeated); store it open."""
    if len(points) >= 2 and points[0] == points[-1]:
        points = points[:-1]
    if len(points) < 3:
        raise ValueError(f"a polygon needs at least 3 distinct corners, got {len(points)}")
    return points


class Material(_Strict):
    """A wall or floor construction and its one-way penetration loss per frequency."""

    id: str = Field(description="Material id that walls and floors refer to, e.g. 'cell_wall_brick'")
    description: str = Field("", description="What the construction is (thickness, build-up), for people")
    loss_db: dict[float, float] = Field(
        description="Penetration loss in dB keyed by frequency in MHz; must include 700, 800, 900 and 1800. "
        "Interpolated linearly in log-frequency between keys and held flat beyond the ends."
    )

    @field_validator("loss_db")
    @classmethod
    def _bands_present(cls, value: dict[float, float]) -> dict[float, float]:
        missing = [f"{mhz:g}" for mhz in REQUIRED_MATERIAL_BANDS_MHZ if mhz not in value]
        if missing:
            raise ValueError(f"loss_db lacks the band(s) {', '.join(missing)} MHz (needs 700, 800, 900 and 1800)")
        bad = [f"{mhz:g}" for mhz, loss in value.items() if mhz <= 0 or loss < 0 or not math.isfinite(loss)]
        if bad:
            raise ValueError(f"loss_db has a non-positive frequency or a negative loss at {', '.join(bad)} MHz")
        return dict(sorted(value.items()))

    def loss_db_at(self, freq_hz: float) -> float:
        """Penetration loss at `freq_hz`, interpolated in log-frequency between the tabulated bands."""
        mhz = np.fromiter(self.loss_db.keys(), float)
        return float(np.interp(math.log10(freq_hz / 1e6), np.log10(mhz), np.fromiter(self.loss_db.values(), float)))


class Wing(_Strict):
    """A wing (house block) of the prison."""

    id: str = Field(description="Wing letter or short id, e.g. 'A'; cell ids start with it")
    name: str = Field("", description="Display name, e.g. 'A wing (remand)'")
    landings: int = Field(ge=1, description="Number of landings (floors) in the wing, landing 0 is the ground")


class Zone(_Strict):
    """An area with one policy: who may use phones there and whether it may be blocked."""

    id: str = Field(description="Zone id that rooms and blockers refer to")
    kind: Literal["cells", "staff", "visits", "exercise", "circulation", "healthcare", "outside"] = Field(
        description="What the zone is used for"
    )
    name: str = Field("", description="Display name")
    phones_authorised: bool = Field(False, description="Phones are allowed here (staff areas, outside the wall)")
    never_block: bool = Field(False, description="No blocker may ever radiate into this zone")
    sensitive: bool = Field(False, description="Detections here need extra care (visitors, healthcare)")


class Room(_Strict):
    """A room or open area on one landing, as a polygon in site coordinates."""

    id: str = Field(description="Unique id; cells are '<wing>-<landing>-<number>', e.g. 'A-2-14'")
    kind: Literal[
        "cell", "landing", "hub", "corridor", "office", "visits", "healthcare", "stairs", "exercise", "road"
    ] = Field(description="Room type; 'landing' is a wing corridor on one floor")
    wing: str | None = Field(None, description="Wing id, or null for rooms outside the wings")
    landing: int = Field(0, ge=0, description="Landing (floor) number, 0 = ground")
    polygon: list[Point2] = Field(description="Corners [[x, y], ...] in metres, in order, not self-intersecting")
    zone: str = Field(description="Zone id the room belongs to")
    _floor_height_m: float = PrivateAttr(3.0)

    _check_polygon = field_validator("polygon")(_polygon)

    @property
    def centroid(self) -> Point3:
        """Area centroid (x, y) and the landing's mid-height z, in metres."""
        x, y = polygon_centroid(self.polygon)
        return (x, y, (self.landing + 0.5) * self._floor_height_m)


class Wall(_Strict):
    """A straight wall on one landing; walls are zero-thickness centre lines, their material carries the loss."""

    start: Point2 = Field(description="[x, y] of one end, metres")
    end: Point2 = Field(description="[x, y] of the other end, metres")
    material: str = Field(description="Material id")
    landing: int = Field(0, ge=0, description="Landing the wall stands on; it starts at that landing's floor")
    height_m: float | None = Field(
        None, gt=0, description="Height above the landing floor; default the floor height (a perimeter wall: 5.2)"
    )

    @field_validator("end")
    @classmethod
    def _not_degenerate(cls, end: Point2, info: ValidationInfo) -> Point2:
        if info.data.get("start") == end:
            raise ValueError("a wall's start and end are the same point")
        return end


class FloorSlab(_Strict):
    """A floor slab at the foot of a landing (slab n separates landing n-1 from n) over a polygon."""

    landing: int = Field(ge=1, description="Landing whose floor this slab is (1 = first-floor slab)")
    material: str = Field(description="Material id")
    polygon: list[Point2] = Field(description="Area the slab covers, [[x, y], ...]")

    _check_polygon = field_validator("polygon")(_polygon)


class SensorPlacement(_Strict):
    """A sensor node's antenna: where it is and what lies between the air and its ADC."""

    id: str = Field(description="Sensor id, as in the node's config and MQTT topics")
    position: Point3 = Field(description="[x, y, z] of the antenna, metres")
    antenna_gain_dbi: float = Field(0.0, description="Antenna gain toward the site, dBi")
    cable_loss_db: float = Field(0.0, ge=0, description="Feeder and connector loss, dB")
    calibration_offset_db: float = Field(0.0, description="Offset added to readings to give true dBm at the antenna")
    role: Literal["internal", "perimeter"] = Field(
        "internal", description="'internal' locates phones; 'perimeter' watches the wall and blocker leakage"
    )
    scan_group: int | None = Field(
        None,
        ge=0,
        description="Scan group (below the sensors' `scan.groups`); default: interleaved by landing "
        "(cellward.site.scan_groups)",
    )


class BlockerUnit(_Strict):
    """A blocker (or managed-access) unit and the zones it is meant to cover."""

    id: str = Field(description="Blocker id")
    position: Point3 = Field(description="[x, y, z] of the antenna, metres")
    zones: list[str] = Field(min_length=1, description="Zone ids the unit covers")
    bands: list[str] = Field(min_length=1, description="Bands it can jam, e.g. ['B8', 'B3']")
    max_eirp_dbm: float = Field(30.0, description="Maximum EIRP per band, dBm")

    @field_validator("bands")
    @classmethod
    def _band_names(cls, bands: list[str]) -> list[str]:
        bad = [b for b in bands if not (len(b) >= 2 and b[0] in "Bn" and b[1:].isdigit())]
        if bad:
            raise ValueError(f"band names look like 'B8' or 'n28', got {bad}")
        return bands


class SiteFile(_Strict):
    """The whole site file as written; `Site` adds the geometry index and queries."""

    name: str = Field(description="Site id, used in MQTT topics (cellward/<name>/...)")
    description: str = Field("", description="Free text")
    floor_height_m: float = Field(3.0, gt=0, description="Floor-to-floor height of every landing, metres")
    landings: int = Field(ge=1, description="Number of landings in the tallest building")
    wings: list[Wing] = Field(default_factory=list, description="Wings")
    materials: list[Material] = Field(min_length=1, description="Wall and floor constructions")
    zones: list[Zone] = Field(min_length=1, description="Zones")
    perimeter: list[Point2] = Field(description="Inner line of the perimeter wall, [[x, y], ...]")
    rooms: list[Room] = Field(min_length=1, description="Rooms, corridors and open areas")
    walls: list[Wall] = Field(default_factory=list, description="Walls")
    floors: list[FloorSlab] = Field(default_factory=list, description="Floor slabs")
    sensors: list[SensorPlacement] = Field(default_factory=list, description="Sensor antennas")
    blockers: list[BlockerUnit] = Field(default_factory=list, description="Blocker units")

    _check_perimeter = field_validator("perimeter")(_polygon)


def polygon_area(points: list[Point2]) -> float:
    """Signed area (shoelace), positive when the corners run anticlockwise."""
    xy = np.asarray(points, float)
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def polygon_centroid(points: list[Point2]) -> Point2:
    """Area centroid of a simple polygon."""
    xy = np.asarray(points, float)
    x, y = xy[:, 0], xy[:, 1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cross = x * yn - xn * y
    area = cross.sum() / 2.0
    if abs(area) < 1e-12:
        return float(x.mean()), float(y.mean())
    return float(((x + xn) * cross).sum() / (6 * area)), float(((y + yn) * cross).sum() / (6 * area))
