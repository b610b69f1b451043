"""The Jinja2 environment of the web view: templates folder, navigation by role, and display filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from controller.web.session import READERS, Viewer

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    roles: tuple[str, ...]


NAV = (
    NavItem("/map", "Site map", READERS),
    NavItem("/incidents", "Incidents", READERS),
    NavItem("/requests", "Requests", ("officer", "authoriser", "auditor")),
    NavItem("/sensors", "Sensors", READERS),
    NavItem("/patterns", "Patterns", READERS),
    NavItem("/lookup", "Lookup", ("officer", "authoriser")),
    NavItem("/blocking", "Blocking", ("officer", "authoriser")),
    NavItem("/audit", "Audit log", ("auditor",)),
)


def utc_time(epoch_s: float | None, with_date: bool = True) -> str:
    if epoch_s is None:
        return "—"
    moment = datetime.fromtimestamp(epoch_s, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if with_date else "%H:%M:%S")


def mhz(freq_hz: float | None) -> str:
    return "—" if freq_hz is None else f"{freq_hz / 1e6:.3f} MHz"


def percent(fraction: float | None) -> str:
    return "—" if fraction is None else f"{fraction * 100:.0f} %"


def duration(seconds: float) -> str:
    """A span in hours, minutes and seconds, leaving out zeros: 45 s, 2 min, 1 h 30 min, 1 min 30 s."""
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n} {unit}" for n, unit in ((hours, "h"), (minutes, "min"), (secs, "s")) if n]
    return " ".join(parts) or "0 s"


def clock_time(seconds_of_day: float) -> str:
    minutes = round(seconds_of_day / 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


templates.env.filters["utc"] = utc_time
templates.env.filters["duration"] = duration
templates.env.filters["clock_time"] = clock_time
templates.env.filters["mhz"] = mhz
templates.env.filters["percent"] = percent


def render(request: Request, name: str, viewer: Viewer | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page with the navigation the viewer's roles allow."""
    nav = [item for item in NAV if viewer is not None and viewer.may(*item.roles)]
    return templates.TemplateResponse(
        request, name, {"viewer": viewer, "nav": nav, "current": request.url.path, **context}, status_code=status_code
    )
