"""Intelligence views: activity patterns over a period, and the time-window lookup with its tasking sheet."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from controller.web.activity import activity_pattern, lookup, period_bounds, week_on_week
from controller.web.charts import bars, hour_day_grid
from controller.web.session import ControllerDep, Operator, Reader
from controller.web.site_map import landings, render_landing
from controller.web.templating import render

router = APIRouter(include_in_schema=False)


class WindowError(ValueError):
    """A period or window the officer typed that cannot be searched; the message says why."""


def _dates(first: str, last: str, tz: ZoneInfo) -> tuple[float, float]:
    """From the start of `first` to the end of `last` (both days included), in the site's local time."""
    if not first or not last:
        raise WindowError("give both dates of the period, from and to (or neither, for the last N days)")
    try:
        first_day, last_day = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        raise WindowError(f"give the dates as year-month-day, e.g. 2026-11-23 (got {first!r} and {last!r})") from None
    if first_day > last_day:
        raise WindowError(f"the period must start before it ends: from {first} is after to {last}")
    since = datetime.combine(first_day, time(), tz)
    until = datetime.combine(last_day + timedelta(days=1), time(), tz)
    return since.timestamp(), until.timestamp()


@router.get("/patterns")
def patterns_page(
    request: Request,
    viewer: Reader,
    controller: ControllerDep,
    days: Annotated[int, Query(ge=1, le=366)] = 28,
    landing: Annotated[int | None, Query(ge=-10, le=100)] = None,
    first: Annotated[str, Query(alias="from", max_length=32)] = "",
    last: Annotated[str, Query(alias="to", max_length=32)] = "",
) -> HTMLResponse:
    error = None
    since_s, until_s = period_bounds(days, controller.clock())
    period = f"in the last {days} days"
    if first or last:
        try:
            since_s, until_s = _dates(first, last, controller.config.tz)
            period = f"from {first} to {last}"
        except WindowError as exc:
            error = str(exc)
    with controller.sessions() as db:
        pattern = activity_pattern(db, since_s, until_s, controller.config.tz)
    available = landings(controller.site)
    shown = landing if landing in available else (available[0] if available else 0)
    heat = render_landing(controller.site, shown, {}, {}, [], heat=dict(pattern.per_cell))
    return render(
        request,
        "patterns.html",
        viewer,
        status_code=400 if error else 200,
        error=error,
        period=period,
        first=first,
        last=last,
        days=days,
        landing=shown,
        landings=available,
        heat=heat,
        grid=hour_day_grid(pattern.hour_by_day),
        top_cells=bars(pattern.per_cell.most_common(10), "Busiest cells"),
        top_wings=bars(pattern.per_wing.most_common(10), "Busiest wings"),
        weeks=week_on_week(pattern),
        wing_names=sorted(pattern.per_wing),
        total=pattern.total,
        tz=controller.config.timezone,
    )


def _window(start: str, end: str) -> tuple[float, float]:
    try:
        start_dt = datetime.fromisoformat(start).replace(tzinfo=UTC)
        end_dt = datetime.fromisoformat(end).replace(tzinfo=UTC)
    except ValueError:
        raise WindowError("give the window as date and time, e.g. 2026-11-23T14:05 (UTC)") from None
    if end_dt <= start_dt:
        raise WindowError("the end of the window must be after its start")
    return start_dt.timestamp(), end_dt.timestamp()


def _lookup_context(controller, start: str, end: str, wing: str | None):
    start_s, end_s = _window(start, end)
    with controller.sessions() as db:
        candidates = lookup(db, start_s, end_s)
    if wing:
        candidates = [c for c in candidates if c.incident.wing == wing]
    return {"candidates": candidates, "start_s": start_s, "end_s": end_s}


@router.get("/lookup")
def lookup_page(
    request: Request,
    viewer: Operator,
    controller: ControllerDep,
    start: Annotated[str, Query(max_length=32)] = "",
    end: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    context: dict = {"start": start, "end": end, "candidates": None, "error": None}
    if start or end:
        try:
            context.update(_lookup_context(controller, start, end, None))
        except WindowError as exc:
            context["error"] = str(exc)
    return render(request, "lookup.html", viewer, status_code=400 if context["error"] else 200, **context)


@router.get("/lookup/sheet")
def tasking_sheet(
    request: Request,
    viewer: Operator,
    controller: ControllerDep,
    start: Annotated[str, Query(max_length=32)],
    end: Annotated[str, Query(max_length=32)],
    wing: Annotated[str, Query(min_length=1, max_length=16)],
) -> HTMLResponse:
    """A printable search-tasking sheet: the wing's cells to search, in order of evidence."""
    try:
        context = _lookup_context(controller, start, end, wing)
    except WindowError as exc:
        return render(request, "lookup.html", viewer, 400, start=start, end=end, candidates=None, error=str(exc))
    return render(
        request,
        "tasking_sheet.html",
        viewer,
        wing=wing,
        start=start,
        end=end,
        site_name=controller.site.name,
        printed_s=controller.clock(),
        **context,
    )
