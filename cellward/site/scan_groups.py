"""Which scan group each sensor of a site is in (sensors.scan_plan, "Scan groups"), from the site model alone.

The sensors (through `cellward provision`, which writes each node's `scan.group`) and the controller (which
needs to know who was listening when a burst was heard) compute the same answer from the same site file.
A sensor's `scan_group` in the site file is taken as written; the others are dealt out in turn, area by
area: an area is a role, wing and landing (perimeter sensors are an area of their own per landing), areas
in sorted order and the sensors of an area along it (by x or y, whichever they spread over more, then id),
with one running count over the whole site. So neighbours on a landing are in different groups, the count
running on from landing to landing usually puts the sensor above one in another group too, and the groups
are equal in size to within one sensor (counting only the dealt ones).
"""

from __future__ import annotations

from cellward.site.model import SensorPlacement
from cellward.site.site import Site


def sensor_groups(site: Site, groups: int) -> dict[str, int]:
    """Scan group (0..groups-1) of every sensor of `site`; ValueError when a written `scan_group` is too high."""
    if groups < 1:
        raise ValueError(f"the number of scan groups must be at least 1, got {groups}")
    too_high = [f"{s.id} ({s.scan_group})" for s in site.sensors if s.scan_group is not None and s.scan_group >= groups]
    if too_high:
        raise ValueError(
            f"site {site.name!r}: scan_group not below the {groups} scan group(s) configured: {', '.join(too_high)}"
        )

    areas: dict[tuple[str, str, int], list[SensorPlacement]] = {}
    for sensor in site.sensors:
        if sensor.scan_group is None:
            x, y, z = sensor.position
            room = site.room_at(x, y, z)
            wing = room.wing if room is not None and room.wing is not None else ""
            areas.setdefault((sensor.role, wing, site.landing_at(z)), []).append(sensor)
    assigned = {s.id: s.scan_group for s in site.sensors if s.scan_group is not None}
    count = 0
    for key in sorted(areas):
        members = areas[key]
        xs, ys = [s.position[0] for s in members], [s.position[1] for s in members]
        axis = 0 if max(xs) - min(xs) >= max(ys) - min(ys) else 1
        for sensor in sorted(members, key=lambda s: (s.position[axis], s.position[1 - axis], s.id)):
            assigned[sensor.id] = count % groups
            count += 1
    return {s.id: assigned[s.id] for s in site.sensors}


def group_members(groups_of: dict[str, int]) -> dict[int, frozenset[str]]:
    """The sensors of each group that has any."""
    members: dict[int, set[str]] = {}
    for sensor_id, group in groups_of.items():
        members.setdefault(group, set()).add(sensor_id)
    return {group: frozenset(ids) for group, ids in sorted(members.items())}
