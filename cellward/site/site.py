"""The loaded site: rooms with their 3-D centroids, resolved walls, and the look-ups everyone needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cellward.config import ConfigError, Location, load_yaml_model
from cellward.site.model import BlockerUnit, Material, Point2, Point3, SensorPlacement, SiteFile, Zone

SITES_DIR = Path(__file__).resolve().parent.parent / "sites"
KNOWN_BANDS = ("B1", "B3", "B7", "B8", "B20", "B28", "n28", "n78")
SENSOR_MARGIN_M = 200.0  # sensors may stand outside the wall (perimeter sensors), not kilometres away


class SiteError(ConfigError):
    """A site file that cannot be used; the message names the file, line and problem."""


@dataclass(frozen=True, slots=True)
class Room:
    id: str
    kind: str
    wing: str | None
    landing: int
    polygon: tuple[Point2, ...]
    zone: str
    wall_material: str | None
    centroid: Point3  # mid-height of the room's landing


@dataclass(frozen=True, slots=True)
class WallSegment:
    a: Point2
    b: Point2
    material: str
    landing: int


class Site:
    """A validated site. Build it with `load_site`; it never changes afterwards."""

    def __init__(self, spec: SiteFile) -> None:
        self.spec = spec
        self.name = spec.name
        self.floor_height_m = spec.floor_height_m
        self.landings = spec.landings
        self.materials: dict[str, Material] = dict(spec.materials)
        self.floor_material = spec.floor_material
        self.zones: list[Zone] = list(spec.zones)
        self.sensors: list[SensorPlacement] = list(spec.sensors)
        self.blockers: list[BlockerUnit] = list(spec.blockers)
        self.perimeter: tuple[Point2, ...] = tuple(spec.perimeter)
        self.rooms: list[Room] = [
            Room(
                r.id,
                r.kind,
                r.wing,
                r.landing,
                tuple(r.polygon),
                r.zone,
                r.wall_material,
                (*_centroid(r.polygon), (r.landing + 0.5) * spec.floor_height_m),
            )
            for r in spec.rooms
        ]
        self.cells = [r for r in self.rooms if r.kind == "cell"]
        self.walls = _resolve_walls(spec)
        self._rooms = {r.id: r for r in self.rooms}
        self._zones = {z.id: z for z in self.zones}
        self._sensors = {s.id: s for s in self.sensors}
        self._bounds = np.array([_bounds(r.polygon) for r in self.rooms]).reshape(-1, 4)

    def room(self, room_id: str) -> Room:
        try:
            return self._rooms[room_id]
        except KeyError:
            raise KeyError(f"site {self.name!r} has no room {room_id!r}") from None

    def zone(self, zone_id: str) -> Zone:
        try:
            return self._zones[zone_id]
        except KeyError:
            raise KeyError(f"site {self.name!r} has no zone {zone_id!r}") from None

    def sensor(self, sensor_id: str) -> SensorPlacement:
        try:
            return self._sensors[sensor_id]
        except KeyError:
            raise KeyError(f"site {self.name!r} has no sensor {sensor_id!r}") from None

    def landing_of(self, z_m: float) -> int:
        return max(0, int(z_m // self.floor_height_m))

    def room_at(self, x: float, y: float, z: float) -> Room | None:
        """The room containing the point, or None (outside every room)."""
        landing = self.landing_of(z)
        b = self._bounds
        candidates = np.flatnonzero((b[:, 0] <= x) & (x <= b[:, 2]) & (b[:, 1] <= y) & (y <= b[:, 3]))
        for index in candidates:
            room = self.rooms[index]
            if room.landing == landing and point_in_polygon(x, y, room.polygon):
                return room
        return None

    def inside_perimeter(self, x: float, y: float) -> bool:
        return point_in_polygon(x, y, self.perimeter)

    def rooms_in_zone(self, zone_id: str) -> list[Room]:
        return [r for r in self.rooms if r.zone == zone_id]


def load_site(path: Path | str) -> Site:
    """Read and validate a site file; raise SiteError naming the line of every problem."""
    try:
        spec = load_yaml_model(Path(path), SiteFile, checks=site_problems)
    except SiteError:
        raise
    except ConfigError as exc:
        raise SiteError(str(exc)) from None
    return Site(spec)


def reference_site_path() -> Path:
    """The radial reference prison shipped with cellward (docs/site.md)."""
    return SITES_DIR / "reference.yaml"


def small_site_path() -> Path:
    """One wing, two landings: for fast tests."""
    return SITES_DIR / "small.yaml"


def site_problems(spec: SiteFile) -> list[tuple[Location, str]]:
    """Cross-reference and geometry problems that field validation cannot see."""
    problems: list[tuple[Location, str]] = []
    materials = set(spec.materials)
    zones = {z.id for z in spec.zones}
    problems += _duplicates("zones", [z.id for z in spec.zones])
    problems += _duplicates("rooms", [r.id for r in spec.rooms])
    problems += _duplicates("sensors", [s.id for s in spec.sensors])
    problems += _duplicates("blockers", [b.id for b in spec.blockers])
    for key in ("floor_material", "perimeter_material"):
        if getattr(spec, key) not in materials:
            problems.append(((key,), f"unknown material {getattr(spec, key)!r}; define it under materials"))
    for i, room in enumerate(spec.rooms):
        if room.zone not in zones:
            problems.append((("rooms", i, "zone"), f"room {room.id!r} names unknown zone {room.zone!r}"))
        if room.wall_material is not None and room.wall_material not in materials:
            problems.append((("rooms", i, "wall_material"), f"unknown material {room.wall_material!r}"))
        if room.landing >= spec.landings:
            problems.append(
                (("rooms", i, "landing"), f"landing {room.landing} but the site has {spec.landings} landing(s)")
            )
    for i, wall in enumerate(spec.walls):
        if wall.material not in materials:
            problems.append((("walls", i, "material"), f"unknown material {wall.material!r}"))
    low_x, low_y, high_x, high_y = _bounds(spec.perimeter)
    for i, sensor in enumerate(spec.sensors):
        x, y, z = sensor.position
        far = not (low_x - SENSOR_MARGIN_M <= x <= high_x + SENSOR_MARGIN_M) or not (
            low_y - SENSOR_MARGIN_M <= y <= high_y + SENSOR_MARGIN_M
        )
        if far or z < 0 or z > spec.landings * spec.floor_height_m + 30:
            problems.append((("sensors", i, "position"), f"sensor {sensor.id!r} is far outside the site"))
    for i, blocker in enumerate(spec.blockers):
        for zone in blocker.zones:
            if zone not in zones:
                problems.append((("blockers", i, "zones"), f"blocker {blocker.id!r} covers unknown zone {zone!r}"))
        for band in blocker.bands:
            if band not in KNOWN_BANDS:
                problems.append((("blockers", i, "bands"), f"unknown band {band!r}; one of {', '.join(KNOWN_BANDS)}"))
    return problems


def _duplicates(key: str, ids: Sequence[str]) -> list[tuple[Location, str]]:
    seen: set[str] = set()
    problems: list[tuple[Location, str]] = []
    for i, item in enumerate(ids):
        if item in seen:
            problems.append(((key, i, "id"), f"duplicate id {item!r}"))
        seen.add(item)
    return problems


def _resolve_walls(spec: SiteFile) -> list[WallSegment]:
    """Room edges become walls on the room's landing (a shared edge once), plus the explicit walls and
    the perimeter wall on every landing."""
    walls: dict[tuple[int, Point2, Point2], WallSegment] = {}

    def add(a: Point2, b: Point2, material: str, landing: int) -> None:
        key = (landing, *sorted((_rounded(a), _rounded(b))))
        walls.setdefault(key, WallSegment(a, b, material, landing))  # type: ignore[arg-type]

    for room in spec.rooms:
        if room.wall_material is None:
            continue
        for a, b in zip(room.polygon, room.polygon[1:] + room.polygon[:1], strict=True):
            add(a, b, room.wall_material, room.landing)
    all_landings = list(range(spec.landings))
    for wall in spec.walls:
        for landing in wall.landings if wall.landings is not None else all_landings:
            add(wall.a, wall.b, wall.material, landing)
    perimeter = list(spec.perimeter)
    for a, b in zip(perimeter, perimeter[1:] + perimeter[:1], strict=True):
        add(a, b, spec.perimeter_material, 0)
    return list(walls.values())


def _rounded(p: Point2) -> Point2:
    return (round(p[0], 3), round(p[1], 3))


def _centroid(polygon: Sequence[Point2]) -> Point2:
    """Area centroid of a simple polygon."""
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(polygon, [*polygon[1:], polygon[0]], strict=True):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    return (cx / (3 * area), cy / (3 * area))


def _bounds(polygon: Sequence[Point2]) -> tuple[float, float, float, float]:
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    return (min(xs), min(ys), max(xs), max(ys))


def point_in_polygon(x: float, y: float, polygon: Sequence[Point2]) -> bool:
    """Even-odd ray casting; a point on an edge may fall either side."""
    inside = False
    n = len(polygon)
    for i in range(n):
        x0, y0 = polygon[i]
        x1, y1 = polygon[(i + 1) % n]
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside
