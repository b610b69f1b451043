"""Draws one landing of the site as SVG: rooms by kind, cells labelled, activity, sensors, blocking zones and
blockers.

Coordinates come in site metres (x east, y north) and go out in SVG user units (y down). Every state is
shown by text and a fill pattern as well as colour, so the map reads without colour vision.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from markupsafe import Markup

WIDTH_PX = 1000.0
HEIGHT_PX = 620.0  # a landing fits beside the side panel on a 1366×768 laptop
PAD_PX = 24.0
MARGIN_M = 2.0
MIN_FONT_PX = 5.5


@dataclass(frozen=True)
class CellMark:
    """What lights a cell up: an open incident, and whether it is transmitting right now."""

    incident_id: str
    status: str
    live: bool
    technology: str
    operators: tuple[str, ...]

    @property
    def caption(self) -> str:
        operators = "/".join(self.operators) or "operator ?"
        return f"{self.technology.upper()} {operators}"


@dataclass(frozen=True)
class SensorMark:
    id: str
    healthy: bool
    problems: tuple[str, ...]


@dataclass(frozen=True)
class BlockerMark:
    """A blocker unit: "on" (radiating over a zone), "off", "tripped" (an interlock took it out of service
    until an admin resets it) or "out of service" (the node says it is offline or stopped)."""

    id: str
    zones: tuple[str, ...]
    state: str


@dataclass(frozen=True)
class ZoneMark:
    """A blocking zone: "on", "off", "waiting for approval" or "out of service" (no unit in service);
    `why` is the reason it is on (manual, schedule, reactive, ...) or who asked for it."""

    id: str
    state: str
    why: str = ""

    @property
    def caption(self) -> str:
        words = {"on": "BLOCKING ON", "out of service": "OUT OF SERVICE"}.get(self.state, self.state)
        return f"Blocking zone {self.id}: {words}" + (f" ({self.why})" if self.why else "")


class Frame:
    """Maps site metres to SVG units for one drawing, fitting WIDTH_PX × at most HEIGHT_PX.

    `rotated` turns the plan a quarter clockwise (north to the right), so that a wing running north-south
    is drawn along the screen's long side, where its cell numbers stay readable.
    """

    def __init__(self, points: Iterable[Sequence[float]], margin_m: float = 0.0, rotated: bool = False) -> None:
        self.rotated = rotated
        turned = [self._turn(p[0], p[1]) for p in points]
        xs, ys = zip(*turned, strict=True)
        self.min_x, self.max_x = min(xs) - margin_m, max(xs) + margin_m
        self.min_y, self.max_y = min(ys) - margin_m, max(ys) + margin_m
        span_x = max(self.max_x - self.min_x, 1.0)
        span_y = max(self.max_y - self.min_y, 1.0)
        self.scale = min((WIDTH_PX - 2 * PAD_PX) / span_x, (HEIGHT_PX - 2 * PAD_PX) / span_y)
        self.offset_x = (WIDTH_PX - span_x * self.scale) / 2  # centre a plan narrower than the drawing
        self.height = span_y * self.scale + 2 * PAD_PX

    def _turn(self, x: float, y: float) -> tuple[float, float]:
        return (y, -x) if self.rotated else (x, y)

    def xy(self, x: float, y: float) -> tuple[float, float]:
        u, v = self._turn(x, y)
        return (self.offset_x + (u - self.min_x) * self.scale, PAD_PX + (self.max_y - v) * self.scale)

    def points(self, polygon: Iterable[Sequence[float]]) -> str:
        return " ".join("{:.1f},{:.1f}".format(*self.xy(p[0], p[1])) for p in polygon)


def landings(site: Any) -> list[int]:
    return sorted({room.landing for room in site.rooms})


def _centre(polygon: Sequence[Sequence[float]]) -> tuple[float, float]:
    return (sum(p[0] for p in polygon) / len(polygon), sum(p[1] for p in polygon) / len(polygon))


def _perimeter(site: Any) -> list[tuple[float, float]]:
    points = getattr(site.perimeter, "polygon", site.perimeter) or []
    return [(p[0], p[1]) for p in points]


def _on_landing(z_m: float, landing: int, floor_height_m: float) -> bool:
    return landing * floor_height_m <= z_m < (landing + 1) * floor_height_m


DEFS = """<defs>
<pattern id="hatch-incident" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
<rect width="8" height="8" class="hatch-bg"/><line x1="0" y1="0" x2="0" y2="8" class="hatch-line"/></pattern>
<pattern id="dots-live" width="8" height="8" patternUnits="userSpaceOnUse">
<rect width="8" height="8" class="dots-bg"/><circle cx="4" cy="4" r="2" class="dots-dot"/></pattern>
</defs>"""


def render_landing(
    site: Any,
    landing: int,
    cells: dict[str, CellMark],
    sensors: dict[str, SensorMark],
    blockers: list[BlockerMark],
    heat: dict[str, int] | None = None,
    wing: str | None = None,
    zones: Sequence[ZoneMark] = (),
) -> Markup:
    """The SVG of one landing; each cell is a focusable group carrying `data-cell` for live updates.

    With `heat` (emissions per cell) cells are shaded in five steps and show their count instead.
    With `wing` the drawing zooms to that wing (the rest of the landing is cut off at the edges).
    `zones` are drawn as an outline around their rooms on this landing, with their state written beside it.
    """
    rooms = [room for room in site.rooms if room.landing == landing]
    outside = {zone.id for zone in site.zones if zone.kind == "outside"}
    rooms = [room for room in rooms if room.zone not in outside]  # roads beyond the wall only shrink the plan
    outline = _perimeter(site)
    # Frame the buildings, not the whole perimeter: officers need to read cell numbers.
    focus = [room for room in rooms if room.wing == wing] if wing else rooms
    corners = [p for room in focus for p in room.polygon] or outline or [(0.0, 0.0), (1.0, 1.0)]
    xs = [p[0] for p in corners]
    ys = [p[1] for p in corners]
    tall = bool(wing) and (max(ys) - min(ys)) > 1.2 * (max(xs) - min(xs))
    frame = Frame(corners, margin_m=MARGIN_M, rotated=tall)
    title = f"{site.name}, landing {landing}" + (f", wing {wing}" if wing else "")
    title += " (turned: north is to the right)" if frame.rotated else ""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="site-map" viewBox="0 0 {WIDTH_PX:.0f} {frame.height:.0f}" '
        f'role="group" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        DEFS,
    ]
    if outline:
        parts.append(f'<polygon class="perimeter" points="{frame.points(outline)}"/>')
    for room in sorted(rooms, key=lambda r: r.kind == "cell"):  # cells last so their outlines sit on top
        if heat is not None and room.kind == "cell":
            parts.append(_heat_cell(room, frame, heat.get(room.id, 0), max(heat.values(), default=0)))
        else:
            parts.append(_room(room, frame, cells.get(room.id)))
    parts.extend(_wing_labels(rooms, frame))
    if heat is not None:  # the heat map is about where phones were, not about equipment
        parts.append("</svg>")
        return Markup("\n".join(parts))
    for zone in zones:
        zone_rooms = [room for room in rooms if room.zone == zone.id]
        if zone_rooms:
            parts.append(_zone(zone, zone_rooms, frame))
    for placement in site.sensors:
        if _on_landing(placement.position[2], landing, site.floor_height_m):
            parts.append(_sensor(placement, frame, sensors.get(placement.id)))
    for placement in site.blockers:
        if _on_landing(placement.position[2], landing, site.floor_height_m):
            mark = next((b for b in blockers if b.id == placement.id), None)
            parts.append(_blocker(placement, frame, mark))
    parts.append("</svg>")
    return Markup("\n".join(parts))


def _text(x: float, y: float, css_class: str, font_px: float, content: str, fit_px: float | None = None) -> str:
    if fit_px is not None and content:
        # DejaVu Sans bold averages about 0.65 em per character; shrink long words to stay inside the cell.
        font_px = min(font_px, fit_px / (0.65 * len(content)))
    if font_px < MIN_FONT_PX:  # unreadable at this zoom: the tooltip and aria-label still carry it
        return ""
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{css_class}" font-size="{font_px:.1f}">{escape(content)}</text>'


def _size_px(room: Any, frame: Frame) -> tuple[float, float]:
    """The room's width in SVG units, and a font large enough to read yet keeping an id like A-2-14 inside."""
    xs = [p[0] for p in room.polygon]
    ys = [p[1] for p in room.polygon]
    width_px = (max(xs) - min(xs)) * frame.scale
    height_px = (max(ys) - min(ys)) * frame.scale
    return width_px * 0.92, min(13.0, width_px / 4.2, height_px / 3.6)


def _room(room: Any, frame: Frame, mark: CellMark | None) -> str:
    cx, cy = frame.xy(*_centre(room.polygon))
    width_px, font_px = _size_px(room, frame)
    rid = escape(room.id)
    if room.kind != "cell":
        return (
            f'<g class="room kind-{escape(room.kind)}"><polygon points="{frame.points(room.polygon)}"/>'
            f"{_text(cx, cy, 'room-label', font_px, room.kind)}</g>"
        )
    state = "quiet" if mark is None else "live" if mark.live else "incident"
    label = f"Cell {room.id}: " + (f"{mark.caption} · {_state_word(mark)}" if mark else "no activity")
    drawing = (
        f'<g class="room cell state-{state}" data-cell="{rid}" data-landing="{room.landing}" '
        f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
        f'<polygon points="{frame.points(room.polygon)}"/>'
        f"{_text(cx, cy - font_px * 0.6, 'cell-id', font_px, room.id)}"
        f"{_text(cx, cy + font_px * 0.5, 'cell-caption', font_px * 0.9, mark.caption if mark else '', width_px)}"
        f"{_text(cx, cy + font_px * 1.5, 'cell-state', font_px * 0.9, _state_word(mark), width_px)}</g>"
    )
    if mark is None:
        return drawing  # quiet cells are not tab stops: hundreds of them would bury the lit ones
    # A lit cell is a link to its incident, so Tab reaches it and Enter opens it.
    return f'<a href="/incidents/{escape(mark.incident_id)}" class="cell-link">{drawing}</a>'


def _state_word(mark: CellMark | None) -> str:
    if mark is None:
        return ""
    return "NOW" if mark.live else mark.status.replace("_", " ")


def _heat_cell(room: Any, frame: Frame, count: int, most: int) -> str:
    cx, cy = frame.xy(*_centre(room.polygon))
    _, font_px = _size_px(room, frame)
    step = 0 if count == 0 or most == 0 else 1 + min(3, int(4 * count / (most + 1)))
    label = f"Cell {room.id}: {count} emissions"
    return (
        f'<g class="room cell heat-{step}" role="img" aria-label="{escape(label)}">'
        f'<title>{escape(label)}</title><polygon points="{frame.points(room.polygon)}"/>'
        f"{_text(cx, cy - font_px * 0.2, 'cell-id', font_px, room.id)}"
        f"{_text(cx, cy + font_px, 'cell-caption', font_px, str(count))}</g>"
    )


def _wing_labels(rooms: list[Any], frame: Frame) -> list[str]:
    """Each wing's name centred above its rooms, as drawn (after any turn)."""
    wings: dict[str, list[tuple[float, float]]] = {}
    for room in rooms:
        if room.wing:
            wings.setdefault(room.wing, []).extend(frame.xy(p[0], p[1]) for p in room.polygon)
    labels = []
    for wing, points in sorted(wings.items()):
        x = (min(p[0] for p in points) + max(p[0] for p in points)) / 2
        y = min(p[1] for p in points)
        labels.append(f'<text x="{x:.1f}" y="{max(y - 6, 14):.1f}" class="wing-label">Wing {escape(wing)}</text>')
    return labels


def _sensor(placement: Any, frame: Frame, mark: SensorMark | None) -> str:
    x, y = frame.xy(placement.position[0], placement.position[1])
    healthy = mark is not None and mark.healthy
    symbol = "✓" if healthy else "!"
    state = "ok" if healthy else "fault"
    why = "healthy" if healthy else "; ".join(mark.problems) if mark else "no status"
    shape = (
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="8"/>'
        if placement.role != "perimeter"
        else f'<rect x="{x - 8:.1f}" y="{y - 8:.1f}" width="16" height="16"/>'
    )
    label = f"Sensor {placement.id} ({placement.role}): {why}"
    return (
        f'<g class="sensor sensor-{state}" data-sensor="{escape(placement.id)}" tabindex="0" role="img" '
        f'aria-label="{escape(label)}"><title>{escape(label)}</title>{shape}'
        f'<text x="{x:.1f}" y="{y + 4:.1f}" class="sensor-symbol">{symbol}</text>'
        f'<text x="{x + 11:.1f}" y="{y + 4:.1f}" class="sensor-label">{escape(placement.id)}</text></g>'
    )


def _zone(zone: ZoneMark, rooms: list[Any], frame: Frame) -> str:
    """The rectangle around the zone's rooms, its outline drawn by state (solid thick when blocking, dashed
    when off), and the state in words under its lower left corner; it lets clicks through to the cells."""
    xs = [p[0] for room in rooms for p in room.polygon]
    ys = [p[1] for room in rooms for p in room.polygon]
    corners = [(min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys))]
    drawn = [frame.xy(x, y) for x, y in corners]
    left = min(p[0] for p in drawn)
    bottom = max(p[1] for p in drawn)
    state = zone.state.replace(" ", "-")
    return (
        f'<g class="zone zone-{escape(state)}" data-zone="{escape(zone.id)}" role="img" '
        f'aria-label="{escape(zone.caption)}"><title>{escape(zone.caption)}</title>'
        f'<polygon points="{frame.points(corners)}"/>'
        f'<text x="{left + 2:.1f}" y="{bottom + 14:.1f}" class="zone-label">{escape(zone.caption)}</text></g>'
    )


def _blocker(placement: Any, frame: Frame, mark: BlockerMark | None) -> str:
    x, y = frame.xy(placement.position[0], placement.position[1])
    state = mark.state if mark else "unknown"
    zones = ", ".join(placement.zones)
    label = f"Blocker {placement.id} for zones {zones}: {state}"
    return (
        f'<g class="blocker blocker-{escape(state.replace(" ", "-"))}" data-blocker="{escape(placement.id)}" '
        f'tabindex="0" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>"
        f'<polygon points="{x:.1f},{y - 9:.1f} {x + 9:.1f},{y + 7:.1f} {x - 9:.1f},{y + 7:.1f}"/>'
        f'<text x="{x + 11:.1f}" y="{y + 4:.1f}" class="blocker-label">{escape(placement.id)} {escape(state.upper())}'
        "</text></g>"
    )
