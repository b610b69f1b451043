"""Zones (with their configured suppression) and the site map geometry, from the site model."""

from __future__ import annotations

from fastapi import APIRouter

from controller.api.deps import AUTH_RESPONSES, ControllerDep, Reader
from controller.api.models.site import PlacementOut, RoomOut, SiteMap, ZoneOut
from controller.config import Schedule

router = APIRouter(prefix="/api", tags=["site"], responses=AUTH_RESPONSES)


def _describe(schedule: Schedule) -> list[str]:
    if not schedule.windows:
        return ["always"]
    return [
        f"{','.join(window.days)} {window.start.strftime('%H:%M')}-{window.end.strftime('%H:%M')}"
        for window in schedule.windows
    ]


@router.get("/zones")
def list_zones(_: Reader, controller: ControllerDep) -> list[ZoneOut]:
    configured: dict[str, list[str]] = {}
    for entry in controller.config.authorised_zones:
        configured.setdefault(entry.zone, []).extend(_describe(entry.schedule))
    return [
        ZoneOut(
            id=zone.id,
            kind=zone.kind,
            phones_authorised=zone.phones_authorised,
            never_block=zone.never_block,
            sensitive=zone.sensitive,
            authorised_schedules=(["always"] if zone.phones_authorised else []) + configured.get(zone.id, []),
        )
        for zone in controller.site.zones
    ]


@router.get("/site")
def site_map(_: Reader, controller: ControllerDep) -> SiteMap:
    site = controller.site
    return SiteMap(
        name=site.name,
        floor_height_m=site.floor_height_m,
        rooms=[
            RoomOut(
                id=room.id,
                kind=room.kind,
                wing=room.wing,
                landing=room.landing,
                zone=room.zone,
                polygon=[(float(x), float(y)) for x, y in room.polygon],
            )
            for room in site.rooms
        ],
        sensors=[PlacementOut(id=s.id, position=tuple(s.position), role=s.role) for s in site.sensors],
        blockers=[PlacementOut(id=b.id, position=tuple(b.position)) for b in site.blockers],
        perimeter=[(float(x), float(y)) for x, y in _perimeter_points(site.perimeter)],
    )


def _perimeter_points(perimeter) -> list[tuple[float, float]]:
    # The site model keeps the perimeter as a polygon; accept either a bare point list or an object with one.
    points = getattr(perimeter, "polygon", perimeter) or []
    return [(p[0], p[1]) for p in points]
