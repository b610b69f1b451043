"""Semantic checks on a parsed site: references resolve, ids are unique, polygons are simple, things sit in place.

Each problem is returned with the path of the offending item in the file (e.g. ('rooms', 12, 'zone')) so the
loader can name its line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from cellward.site.geometry import distance_to_polygon_edge, self_intersection
from cellward.site.model import Point2, polygon_area
from cellward.site.site import Site

Problem = tuple[tuple[str | int, ...], str]

# A perimeter sensor farther than this from the wall line watches the road, not the wall.
PERIMETER_SENSOR_MAX_DISTANCE_M = 50.0


def site_problems(site: Site) -> list[Problem]:
    """Every semantic problem in the site, in file order of sections; empty when the site is usable."""
    checks = (_duplicates, _polygons, _rooms, _walls_and_floors, _placements, _blockers)
    return [problem for check in checks for problem in check(site)]


def _duplicates(site: Site) -> Iterator[Problem]:
    for section in ("wings", "materials", "zones", "rooms", "sensors", "blockers"):
        seen: dict[str, int] = {}
        for i, item in enumerate(getattr(site, section)):
            if item.id in seen:
                yield (section, i, "id"), f"duplicate id {item.id!r} (first used at {section}[{seen[item.id]}])"
            else:
                seen[item.id] = i


def _polygon_problem(polygon: Sequence[Point2]) -> str | None:
    crossing = self_intersection(polygon)
    if crossing is not None:
        i, j = crossing
        return (
            f"polygon is not simple: edge {i} ({polygon[i]} -> {polygon[(i + 1) % len(polygon)]}) meets "
            f"edge {j} ({polygon[j]} -> {polygon[(j + 1) % len(polygon)]}); list the corners in order around it"
        )
    if abs(polygon_area(list(polygon))) < 1e-6:
        return "polygon has zero area (its corners are collinear)"
    return None


def _polygons(site: Site) -> Iterator[Problem]:
    problem = _polygon_problem(site.perimeter)
    if problem:
        yield ("perimeter",), f"perimeter: {problem}"
    for section in ("rooms", "floors"):
        for i, item in enumerate(getattr(site, section)):
            problem = _polygon_problem(item.polygon)
            if problem:
                name = f"room {item.id!r}" if section == "rooms" else f"floor slab {i}"
                yield (section, i, "polygon"), f"{name}: {problem}"


def _known(kind: str, wanted: str, known: Sequence[str]) -> str:
    listing = ", ".join(sorted(known)[:12]) + (", ..." if len(known) > 12 else "")
    return f"unknown {kind} {wanted!r} (known: {listing})"


def _rooms(site: Site) -> Iterator[Problem]:
    zones = {z.id: z for z in site.zones}
    wings = {w.id: w for w in site.wings}
    for i, room in enumerate(site.rooms):
        if room.zone not in zones:
            yield ("rooms", i, "zone"), f"room {room.id!r}: {_known('zone', room.zone, list(zones))}"
        if room.wing is not None and room.wing not in wings:
            yield ("rooms", i, "wing"), f"room {room.id!r}: {_known('wing', room.wing, list(wings))}"
        if room.kind == "cell" and room.wing is None:
            yield ("rooms", i, "kind"), f"cell {room.id!r} has no wing; every cell belongs to a wing"
        limit = wings[room.wing].landings if room.wing in wings else site.landings
        if room.landing >= limit:
            owner = f"wing {room.wing!r}" if room.wing in wings else "the site"
            yield (
                ("rooms", i, "landing"),
                f"room {room.id!r}: landing {room.landing} is out of range, {owner} has landings 0..{limit - 1}",
            )
        if room.zone in zones:
            x, y, _ = room.centroid
            outside_zone = zones[room.zone].kind == "outside"
            if outside_zone == site.inside_perimeter(x, y):
                where = "inside" if outside_zone else "outside"
                yield (
                    ("rooms", i, "polygon"),
                    f"room {room.id!r} in zone {room.zone!r} ({zones[room.zone].kind}) lies {where} the perimeter",
                )


def _walls_and_floors(site: Site) -> Iterator[Problem]:
    materials = [m.id for m in site.materials]
    for i, wall in enumerate(site.walls):
        if wall.material not in materials:
            yield ("walls", i, "material"), f"wall {i}: {_known('material', wall.material, materials)}"
        if wall.landing >= site.landings:
            yield (
                ("walls", i, "landing"),
                f"wall {i}: landing {wall.landing} is out of range, the site has landings 0..{site.landings - 1}",
            )
    for i, slab in enumerate(site.floors):
        if slab.material not in materials:
            yield ("floors", i, "material"), f"floor slab {i}: {_known('material', slab.material, materials)}"
        if slab.landing >= site.landings:
            yield (
                ("floors", i, "landing"),
                f"floor slab {i}: landing {slab.landing} is out of range, slabs are under landings "
                f"1..{site.landings - 1}",
            )


def _placements(site: Site) -> Iterator[Problem]:
    top = site.landings * site.floor_height_m
    for i, sensor in enumerate(site.sensors):
        x, y, z = sensor.position
        if not 0.0 <= z <= top:
            yield ("sensors", i, "position"), f"sensor {sensor.id!r}: height {z} m is outside 0..{top:g} m"
            continue
        inside = site.inside_perimeter(x, y)
        if sensor.role == "internal":
            if not inside:
                yield (
                    ("sensors", i, "position"),
                    f"internal sensor {sensor.id!r} at {sensor.position} is outside the perimeter",
                )
            elif site.room_at(x, y, min(z, top - 1e-6)) is None:
                yield (
                    ("sensors", i, "position"),
                    f"internal sensor {sensor.id!r} at {sensor.position} is not in any room on landing "
                    f"{site.landing_at(min(z, top - 1e-6))}",
                )
        else:
            distance = distance_to_polygon_edge(x, y, site.perimeter)
            if inside or distance > PERIMETER_SENSOR_MAX_DISTANCE_M:
                where = "inside" if inside else f"{distance:.0f} m away"
                yield (
                    ("sensors", i, "position"),
                    f"perimeter sensor {sensor.id!r} at {sensor.position} must be outside the perimeter and within "
                    f"{PERIMETER_SENSOR_MAX_DISTANCE_M:g} m of it (it is {where})",
                )


def _blockers(site: Site) -> Iterator[Problem]:
    zones = [z.id for z in site.zones]
    for i, unit in enumerate(site.blockers):
        for j, zone in enumerate(unit.zones):
            if zone not in zones:
                yield ("blockers", i, "zones", j), f"blocker {unit.id!r}: {_known('zone', zone, zones)}"
            elif site.zone(zone).never_block:
                yield ("blockers", i, "zones", j), f"blocker {unit.id!r} covers zone {zone!r}, which is never_block"
        x, y, _ = unit.position
        if not site.inside_perimeter(x, y):
            yield ("blockers", i, "position"), f"blocker {unit.id!r} at {unit.position} is outside the perimeter"
