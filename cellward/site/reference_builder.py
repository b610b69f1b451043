"""Generator of the shipped site files: the four-wing radial reference prison and the one-wing small test site.

Run `python -m cellward.site.reference_builder` to rewrite cellward/sites/{reference,small}.yaml; the YAML is
committed so a site engineer can read and edit it like any surveyed site. Dimensions (see docs/site.md):
cells 2.4 m pitch x 3.6 m deep between wall centre lines (about 2.1 x 3.3 m inside), a 3 m corridor,
3 m floor-to-floor, reinforced concrete slabs, solid brick cell walls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from cellward.site.load import reference_site_path, small_site_path

CELL_PITCH_M = 2.4
CELL_DEPTH_M = 3.6
CORRIDOR_HALF_WIDTH_M = 1.5
END_ROOM_LENGTH_M = 4.8
FLOOR_HEIGHT_M = 3.0
SENSOR_CEILING_M = 2.8  # antenna just under a 3 m slab, out of reach
SENSOR_INSET_M = 1.2  # from the corridor axis toward one row of cell doors (0.3 m from the cell fronts)
SENSOR_EVERY_CELLS = 4  # along each landing: one corridor sensor per 4 cells of a row (per 8 cells of landing)
PERIMETER_WALL_HEIGHT_M = 5.2
HALF_WIDTH_M = CORRIDOR_HALF_WIDTH_M + CELL_DEPTH_M

MATERIALS = [
    {
        "id": "cell_wall",
        "description": "230 mm solid brick party wall between cells, plastered both sides",
        "loss_db": {700: 7.0, 800: 7.4, 900: 7.8, 1800: 10.5},
    },
    {
        "id": "cell_front",
        "description": "230 mm brick corridor wall of a cell with a steel door and observation panel",
        "loss_db": {700: 6.0, 800: 6.3, 900: 6.6, 1800: 8.5},
    },
    {
        "id": "external_wall",
        "description": "340 mm brick cavity external wall with a small barred window",
        "loss_db": {700: 10.0, 800: 10.5, 900: 11.0, 1800: 14.0},
    },
    {
        "id": "heavy_wall",
        "description": "heavy internal wall (COST-231 multi-wall 'heavy wall', 6.9 dB at 1.8 GHz)",
        "loss_db": {700: 5.2, 800: 5.5, 900: 5.8, 1800: 6.9},
    },
    {
        "id": "office_partition",
        "description": "100 mm blockwork or plasterboard partition (COST-231 'light wall', 3.4 dB at 1.8 GHz)",
        "loss_db": {700: 2.3, 800: 2.5, 900: 2.7, 1800: 3.4},
    },
    {
        "id": "rc_floor",
        "description": "200 mm reinforced concrete slab with screed (COST-231 floor loss 18.3 dB at 1.8 GHz)",
        "loss_db": {700: 14.0, 800: 14.5, 900: 15.0, 1800: 18.3},
    },
    {
        "id": "perimeter_wall",
        "description": "5.2 m perimeter wall of 300 mm precast reinforced concrete panels",
        "loss_db": {700: 14.0, 800: 14.5, 900: 15.0, 1800: 19.0},
    },
]


def _r(v: float) -> float:
    return round(float(v), 3) + 0.0  # + 0.0 turns -0.0 into 0.0 so the YAML reads cleanly


@dataclass
class _Frame:
    """A wing's local frame: u along the wing away from the hub, v across it (anticlockwise of u)."""

    angle_deg: float

    def xy(self, u: float, v: float) -> list[float]:
        a = math.radians(self.angle_deg)
        return [_r(u * math.cos(a) - v * math.sin(a)), _r(u * math.sin(a) + v * math.cos(a))]

    def rect(self, u0: float, u1: float, v0: float, v1: float) -> list[list[float]]:
        return [self.xy(u0, v0), self.xy(u1, v0), self.xy(u1, v1), self.xy(u0, v1)]


@dataclass
class _Site:
    rooms: list[dict] = field(default_factory=list)
    walls: list[dict] = field(default_factory=list)
    floors: list[dict] = field(default_factory=list)
    sensors: list[dict] = field(default_factory=list)

    def room(self, id_: str, kind: str, polygon: list, zone: str, landing: int = 0, wing: str | None = None) -> None:
        self.rooms.append({"id": id_, "kind": kind, "wing": wing, "landing": landing, "zone": zone, "polygon": polygon})

    def wall(self, a: list[float], b: list[float], material: str, landing: int, height_m: float | None = None) -> None:
        item = {"start": a, "end": b, "material": material, "landing": landing}
        if height_m is not None:
            item["height_m"] = height_m
        self.walls.append(item)

    def outline(self, polygon: list, material: str, landing: int, skip: tuple[int, ...] = ()) -> None:
        """Walls along a polygon's edges, except the edges listed in `skip` (by start-corner index)."""
        for i, a in enumerate(polygon):
            if i not in skip:
                self.wall(a, polygon[(i + 1) % len(polygon)], material, landing)

    def sensor(self, id_: str, xyz: list[float], role: str = "internal") -> None:
        self.sensors.append(
            {
                "id": id_,
                "position": [_r(c) for c in xyz],
                "antenna_gain_dbi": 2.0 if role == "internal" else 5.0,
                "cable_loss_db": 1.0,
                "calibration_offset_db": 0.0,
                "role": role,
            }
        )


def _wing(site: _Site, wing: str, angle_deg: float, landings: int, cells_per_side: int, u0: float) -> None:
    """Cells both sides of a corridor on every landing, an end room, walls, slabs and corridor-ceiling sensors."""
    f = _Frame(angle_deg)
    length = cells_per_side * CELL_PITCH_M
    u_end = u0 + length + END_ROOM_LENGTH_M
    c, w = CORRIDOR_HALF_WIDTH_M, HALF_WIDTH_M
    zone = f"cells-{wing}"
    for landing in range(landings):
        for side, (v0, v1) in enumerate(((c, w), (-w, -c))):
            for k in range(cells_per_side):
                number = side * cells_per_side + k + 1
                ua, ub = u0 + k * CELL_PITCH_M, u0 + (k + 1) * CELL_PITCH_M
                site.room(f"{wing}-{landing}-{number:02d}", "cell", f.rect(ua, ub, v0, v1), zone, landing, wing)
        site.room(f"{wing}-{landing}-LDG", "landing", f.rect(u0, u0 + length, -c, c), zone, landing, wing)
        site.room(f"{wing}-{landing}-END", "stairs", f.rect(u0 + length, u_end, -w, w), zone, landing, wing)
        for v in (w, -w):
            site.wall(f.xy(u0, v), f.xy(u_end, v), "external_wall", landing)
        site.wall(f.xy(u_end, -w), f.xy(u_end, w), "external_wall", landing)
        for v in (c, -c):
            site.wall(f.xy(u0, v), f.xy(u0 + length, v), "cell_front", landing)
        for k in range(cells_per_side + 1):
            u = u0 + k * CELL_PITCH_M
            for va, vb in ((c, w), (-c, -w)):
                site.wall(f.xy(u, va), f.xy(u, vb), "cell_wall", landing)
        if landing >= 1:
            site.floors.append({"landing": landing, "material": "rc_floor", "polygon": f.rect(u0, u_end, -w, w)})
        # Corridor-ceiling sensors every SENSOR_EVERY_CELLS cells, alternating toward either row of doors and
        # staggered by half a spacing between landings so that no cell is far from a sensor above or below.
        first = SENSOR_EVERY_CELLS // 2 - 1 + (SENSOR_EVERY_CELLS // 2) * (landing % 2)
        for n, k in enumerate(range(first, cells_per_side, SENSOR_EVERY_CELLS)):
            v = SENSOR_INSET_M if (n + landing) % 2 == 0 else -SENSOR_INSET_M
            u = u0 + (k + 0.5) * CELL_PITCH_M
            site.sensor(f"{wing}{landing}-{n + 1}", [*f.xy(u, v), landing * FLOOR_HEIGHT_M + SENSOR_CEILING_M])


def _hub(site: _Site, angles: list[float], landings: int, u0: float) -> list[list[float]]:
    """The central hall: the polygon through the wings' inner corners, walled between wings, one room per landing."""
    if len(angles) >= 3:
        corners = []
        for a in sorted(angles):
            corners += [_Frame(a).xy(u0, -HALF_WIDTH_M), _Frame(a).xy(u0, HALF_WIDTH_M)]
        open_edges = tuple(range(0, len(corners), 2))  # each wing's end edge is the wing's own cell wall line
    else:
        corners = _Frame(angles[0]).rect(0.0, u0, -HALF_WIDTH_M, HALF_WIDTH_M)
        open_edges = (1,)
    for landing in range(landings):
        site.room(f"HUB-{landing}", "hub", corners, "hub", landing)
        site.outline(corners, "external_wall", landing, skip=open_edges)
        if landing >= 1:
            site.floors.append({"landing": landing, "material": "rc_floor", "polygon": corners})
        cx = sum(p[0] for p in corners) / len(corners) + (1.0 if landing % 2 else -1.0)
        cy = sum(p[1] for p in corners) / len(corners)
        site.sensor(f"HUB{landing}", [cx, cy, landing * FLOOR_HEIGHT_M + SENSOR_CEILING_M])
    return corners


def _perimeter(site: _Site, perimeter: list[list[float]], road: list[list[float]]) -> None:
    site.outline(perimeter, "perimeter_wall", 0)
    for wall in site.walls[-len(perimeter) :]:
        wall["height_m"] = PERIMETER_WALL_HEIGHT_M
    site.room("ROAD", "road", road, "outside")


def _zones(wings: list[str], *, admin: bool) -> list[dict]:
    zones = [{"id": f"cells-{w}", "kind": "cells", "name": f"{w} wing cells and landings"} for w in wings]
    zones += [
        {"id": "hub", "kind": "circulation", "name": "Central hub"},
        {"id": "exercise", "kind": "exercise", "name": "Exercise yards"},
        {"id": "staff", "kind": "staff", "name": "Staff offices", "phones_authorised": True, "never_block": True},
        {
            "id": "outside",
            "kind": "outside",
            "name": "Outside the wall (public road)",
            "phones_authorised": True,
            "never_block": True,
        },
    ]
    if admin:
        zones += [
            {"id": "admin", "kind": "circulation", "name": "Admin block corridor"},
            {"id": "visits", "kind": "visits", "name": "Visits hall", "sensitive": True},
            {"id": "healthcare", "kind": "healthcare", "name": "Healthcare", "never_block": True, "sensitive": True},
        ]
    return zones


def _document(
    name: str,
    description: str,
    landings: int,
    wings: list[dict],
    zones: list[dict],
    perimeter: list,
    site: _Site,
    blockers: list[dict],
) -> dict:
    return {
        "name": name,
        "description": description,
        "floor_height_m": FLOOR_HEIGHT_M,
        "landings": landings,
        "wings": wings,
        "materials": MATERIALS,
        "zones": zones,
        "perimeter": perimeter,
        "rooms": site.rooms,
        "walls": site.walls,
        "floors": site.floors,
        "sensors": site.sensors,
        "blockers": blockers,
    }


def build_reference() -> dict:
    """The reference site: wings A-D at 45, 135, 225, 315 degrees, 3 landings, 20 cells a side (480 cells)."""
    site, landings, u0, cells_per_side = _Site(), 3, 14.0, 20
    angles = {"A": 45.0, "B": 135.0, "C": 225.0, "D": 315.0}
    for wing, angle in angles.items():
        _wing(site, wing, angle, landings, cells_per_side, u0)
    _hub(site, list(angles.values()), landings, u0)

    # Single-storey admin block south of the hub, between C and D wings: visits hall, healthcare, offices.
    block = [[-16.0, -62.0], [16.0, -62.0], [16.0, -36.0], [-16.0, -36.0]]
    site.room("VISITS", "visits", [[-16.0, -62.0], [4.0, -62.0], [4.0, -46.0], [-16.0, -46.0]], "visits")
    site.room("HEALTHCARE", "healthcare", [[4.0, -62.0], [16.0, -62.0], [16.0, -46.0], [4.0, -46.0]], "healthcare")
    site.room("ADMIN-CORRIDOR", "corridor", [[-16.0, -46.0], [16.0, -46.0], [16.0, -42.0], [-16.0, -42.0]], "admin")
    for i, (xa, xb) in enumerate(((-16.0, -5.3), (-5.3, 5.3), (5.3, 16.0))):
        site.room(f"OFFICE-{i + 1}", "office", [[xa, -42.0], [xb, -42.0], [xb, -36.0], [xa, -36.0]], "staff")
        if i:
            site.wall([xa, -42.0], [xa, -36.0], "office_partition", 0)
    site.outline(block, "external_wall", 0)
    site.wall([-16.0, -46.0], [16.0, -46.0], "heavy_wall", 0)
    site.wall([-16.0, -42.0], [16.0, -42.0], "office_partition", 0)
    site.wall([4.0, -62.0], [4.0, -46.0], "heavy_wall", 0)
    site.sensor("VISITS1", [-6.0, -54.0, SENSOR_CEILING_M])
    site.sensor("ADMIN1", [0.0, -44.0, SENSOR_CEILING_M])

    for name, (x0, x1, y0, y1) in {"E": (28, 58, -12, 12), "N": (-12, 12, 28, 58), "W": (-58, -28, -12, 12)}.items():
        site.room(f"YARD-{name}", "exercise", [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], "exercise")
        x, y = (x0 + x1) / 2, (y0 + y1) / 2
        site.sensor(f"YARD{name}", [x, y, 3.0 - 0.2])  # on a lighting mast in the yard's middle

    perimeter = [[-75.0, -75.0], [75.0, -75.0], [75.0, 75.0], [-75.0, 75.0]]
    _perimeter(site, perimeter, [[-130.0, -95.0], [130.0, -95.0], [130.0, -85.0], [-130.0, -85.0]])
    for x, y in ((0, -78), (78, -78), (78, 0), (78, 78), (0, 78), (-78, 78), (-78, 0), (-78, -78)):
        site.sensor(
            f"PER-{'S' if y < 0 else 'N' if y > 0 else ''}{'W' if x < 0 else 'E' if x > 0 else ''}",
            [x, y, 3.0],
            role="perimeter",
        )

    bands = ["B28", "B20", "B8", "B3"]
    blockers = []
    for wing, angle in angles.items():
        u = u0 + cells_per_side * CELL_PITCH_M / 2
        blockers.append(
            {
                "id": f"BLK-{wing}",
                "position": [*_Frame(angle).xy(u, 0.0), FLOOR_HEIGHT_M + 2.7],
                "zones": [f"cells-{wing}"],
                "bands": bands,
                "max_eirp_dbm": 20.0,
            }
        )
    wings = [{"id": w, "name": f"{w} wing", "landings": landings} for w in angles]
    return _document(
        "reference",
        "Radial prison: four wings of three landings around a central hub, 20 cells each side of each landing's "
        "corridor (480 cells), single-storey admin block (visits, healthcare, offices), three exercise yards, "
        "a 5.2 m perimeter wall and a public road to the south.",
        landings,
        wings,
        _zones(list(angles), admin=True),
        perimeter,
        site,
        blockers,
    )


def build_small() -> dict:
    """The small site: wing A along +x, two landings, 4 cells a side (16 cells), a hub, a yard and a road."""
    site, landings, u0 = _Site(), 2, 6.0
    _wing(site, "A", 0.0, landings, 4, u0)
    _hub(site, [0.0], landings, u0)
    site.room("YARD", "exercise", [[-20.0, -12.0], [-3.0, -12.0], [-3.0, 12.0], [-20.0, 12.0]], "exercise")
    perimeter = [[-25.0, -20.0], [35.0, -20.0], [35.0, 20.0], [-25.0, 20.0]]
    _perimeter(site, perimeter, [[-40.0, -34.0], [50.0, -34.0], [50.0, -26.0], [-40.0, -26.0]])
    site.sensor("PER-S", [10.0, -23.0, 3.0], role="perimeter")
    blockers = [
        {"id": "BLK-A", "position": [13.2, 0.0, 5.7], "zones": ["cells-A"], "bands": ["B8", "B3"], "max_eirp_dbm": 20.0}
    ]
    return _document(
        "small",
        "One wing of two landings, 4 cells each side of the corridor (16 cells), a hub, a yard, perimeter and road; "
        "for fast tests.",
        landings,
        [{"id": "A", "name": "A wing", "landings": landings}],
        _zones(["A"], admin=False),
        perimeter,
        site,
        blockers,
    )


def to_yaml(document: dict) -> str:
    """Block style for the top level, one flow-style line per room, wall, slab, sensor and zone."""
    out = ["# Generated by `python -m cellward.site.reference_builder`; edit the builder, not this file.\n"]
    for key, value in document.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            out.append(f"{key}:\n")
            for item in value:
                line = yaml.safe_dump(item, default_flow_style=True, sort_keys=False, width=1 << 16).strip()
                out.append(f"  - {line}\n")
        else:
            flow = None if isinstance(value, list) else False  # a list of points: one [x, y] per line
            out.append(yaml.safe_dump({key: value}, default_flow_style=flow, sort_keys=False, width=1 << 16))
    return "".join(out)


def main() -> None:
    for path, build in ((reference_site_path(), build_reference), (small_site_path(), build_small)):
        Path(path).write_text(to_yaml(build()), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
