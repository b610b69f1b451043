"""The live site map: one landing at a time, cells lit by open incidents, sensors, blockers and their zones marked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import case, select

from controller.api.alerts import acknowledge_alert
from controller.api.sensors import sensor_views
from controller.db.incidents import AlertRecord, IncidentRecord
from controller.runtime import Controller
from controller.web.session import ControllerDep, Officer, Reader, check_csrf
from controller.web.site_map import BlockerMark, CellMark, SensorMark, ZoneMark, landings, render_landing
from controller.web.templating import render

router = APIRouter(include_in_schema=False)
# A cell counts as transmitting "now" when its incident was heard this recently.
LIVE_S = 60.0


def open_incidents(controller: Controller) -> list[IncidentRecord]:
    with controller.sessions() as db:
        return list(
            db.scalars(
                select(IncidentRecord)
                .where(IncidentRecord.status != "closed", IncidentRecord.suppressed.is_(False))
                .order_by(IncidentRecord.last_seen.desc())
            )
        )


SEVERITY_ORDER = case({"critical": 0, "high": 1, "medium": 2, "low": 3}, value=AlertRecord.severity, else_=4)


def active_alerts(controller: Controller, limit: int = 20) -> list[AlertRecord]:
    with controller.sessions() as db:
        return list(
            db.scalars(
                select(AlertRecord)
                .where(AlertRecord.active.is_(True))
                .order_by(SEVERITY_ORDER, AlertRecord.last_at.desc())
                .limit(limit)
            )
        )


def cell_marks(incidents: list[IncidentRecord], now_s: float) -> dict[str, CellMark]:
    marks: dict[str, CellMark] = {}
    for incident in incidents:  # newest first: the most recent incident of a cell is the one shown
        if incident.cell_id and incident.cell_id not in marks:
            marks[incident.cell_id] = CellMark(
                incident_id=incident.id,
                status=incident.status,
                live=incident.ended_at is None and now_s - incident.last_seen <= LIVE_S,
                technology=incident.technology,
                operators=tuple(incident.operators),
            )
    return marks


def sensor_marks(controller: Controller) -> dict[str, SensorMark]:
    return {view.id: SensorMark(view.id, view.healthy, tuple(view.problems)) for view in sensor_views(controller)}


@dataclass(frozen=True)
class Equipment:
    """What the map and its side lists show of sensors and blocking, read once per request."""

    sensors: dict[str, SensorMark]
    blockers: list[BlockerMark]
    zones: list[ZoneMark]  # every zone a unit covers

    def side_lists(self) -> dict[str, Any]:
        faulty = [mark for mark in self.sensors.values() if not mark.healthy]
        return {"faulty_sensors": faulty, "blockers": self.blockers, "zones": self.zones}


def equipment(controller: Controller) -> Equipment:
    return Equipment(sensor_marks(controller), *blocking_marks(controller))


def blocking_marks(controller: Controller) -> tuple[list[BlockerMark], list[ZoneMark]]:
    """Every unit's state and every zone a unit covers."""
    state = controller.blocking.snapshot()
    tripped = set(state["tripped_units"])
    waiting = set(state["awaiting_decision"])
    offline = {u["unit"] for u in state["units"] if u["availability"] in ("offline", "stopped")}
    radiating = {unit for z in state["zones"] if z["on"] for unit in z["units"]} - tripped - waiting - offline

    def unit_state(unit: str) -> str:
        if unit in tripped:
            return "tripped"
        return "out of service" if unit in offline else "on" if unit in radiating else "off"

    zones = []
    for z in state["zones"]:
        if not z["units"] or z["never_block"]:
            continue
        if z["on"]:
            zones.append(ZoneMark(z["zone"], "on", z["reason"]))
        elif z["pending_by"]:
            zones.append(ZoneMark(z["zone"], "waiting for approval", f"asked by {z['pending_by']}"))
        elif not set(z["units"]) - tripped - offline:
            zones.append(ZoneMark(z["zone"], "out of service", "no unit in service"))
        else:
            emergency = state["emergency_by"]
            zones.append(ZoneMark(z["zone"], "off", f"emergency all-off by {emergency}" if emergency else ""))
    blockers = [BlockerMark(b.id, tuple(b.zones), unit_state(b.id)) for b in controller.site.blockers]
    return blockers, zones


def _landing(controller: Controller, landing: int | None) -> int:
    available = landings(controller.site)
    if landing is None:
        return available[0] if available else 0
    if landing not in available:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no landing {landing}; landings: {', '.join(map(str, available))}"
        )
    return landing


def wings(controller: Controller) -> list[str]:
    return sorted({room.wing for room in controller.site.rooms if room.wing})


def _wing(controller: Controller, wing: str | None) -> str | None:
    if wing and wing not in wings(controller):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no wing {wing}; wings: {', '.join(wings(controller))}")
    return wing or None


def map_svg(controller: Controller, landing: int, wing: str | None, incidents: list[IncidentRecord], marks: Equipment):
    return render_landing(
        controller.site,
        landing,
        cell_marks(incidents, controller.clock()),
        marks.sensors,
        marks.blockers,
        wing=wing,
        zones=marks.zones,
    )


WingQuery = Annotated[str | None, Query(max_length=16)]


@router.get("/map")
def live_map(
    request: Request,
    viewer: Reader,
    controller: ControllerDep,
    landing: Annotated[int | None, Query(ge=-10, le=100)] = None,
    wing: WingQuery = None,
) -> HTMLResponse:
    shown = _landing(controller, landing)
    zoom = _wing(controller, wing)
    incidents = open_incidents(controller)
    marks = equipment(controller)
    return render(
        request,
        "map.html",
        viewer,
        site=controller.site,
        landing=shown,
        landings=landings(controller.site),
        wing=zoom,
        wings=wings(controller),
        svg=map_svg(controller, shown, zoom, incidents, marks),
        incidents=incidents,
        alerts=active_alerts(controller),
        live_s=LIVE_S,
        **marks.side_lists(),
    )


@router.get("/map/landing/{landing}")
def landing_fragment(
    request: Request, landing: int, viewer: Reader, controller: ControllerDep, wing: WingQuery = None
) -> HTMLResponse:
    """Just the SVG of one landing, for switching landings and redrawing without a page load."""
    shown = _landing(controller, landing)
    svg = map_svg(controller, shown, _wing(controller, wing), open_incidents(controller), equipment(controller))
    return HTMLResponse(str(svg))


@router.get("/map/alerts")
def alerts_fragment(request: Request, viewer: Reader, controller: ControllerDep) -> HTMLResponse:
    """The active-alerts panel alone, redrawn when an alert event arrives."""
    return render(request, "alerts_panel.html", viewer, alerts=active_alerts(controller))


@router.get("/map/equipment")
def equipment_fragment(request: Request, viewer: Reader, controller: ControllerDep) -> HTMLResponse:
    """The sensors-with-problems and blocking lists alone, redrawn when a sensors or blocking event arrives."""
    return render(request, "map_equipment.html", viewer, **equipment(controller).side_lists())


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge(
    alert_id: str, viewer: Officer, controller: ControllerDep, csrf: Annotated[str, Form()] = ""
) -> RedirectResponse:
    check_csrf(viewer, csrf)
    acknowledge_alert(alert_id, viewer.principal, controller)  # the API's own handler: one code path
    return RedirectResponse("/map", status.HTTP_303_SEE_OTHER)
