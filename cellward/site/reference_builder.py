"""Builds the two site files shipped with cellward: the radial reference prison and the small test site.

Run `python -m cellward.site.reference_builder` after changing this file; a test checks that the
shipped YAML files are what this module builds. Dimensions follow a Victorian radial prison
(Pentonville-style): wings radiating from a central hub, cells about 2.1 m x 3.6 m inside with
230 mm brick walls on both sides of a 3 m landing corridor, 3 m storeys, reinforced-concrete floors.
Why the sensors are where they are is in docs/site.md.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from cellward.site.site import SITES_DIR

CELL_PITCH_M = 2.4  # 2.1 m inside plus the shared wall
CELL_DEPTH_M = 4.0
CORRIDOR_HALF_M = 1.5
FLOOR_HEIGHT_M = 3.0
SENSOR_HEIGHT_M = 2.7  # in the corridor ceiling void
HUB_RADIUS_M = 14.0

# penetration loss (dB) at 700/900/1800 MHz; ITU-R P.2040 and published indoor measurements
MATERIALS = {
    "brick_230mm": {700: 7.0, 900: 8.0, 1800: 11.0},
    "outer_wall_450mm": {700: 11.0, 900: 12.5, 1800: 16.0},
    "reinforced_concrete_floor": {700: 15.0, 900: 17.0, 1800: 22.0},
    "perimeter_concrete": {700: 12.0, 900: 13.5, 1800: 18.0},
    "office_partition": {700: 3.0, 900: 3.5, 1800: 5.0},
}


def _materials() -> dict[str, Any]:
    return {name: {"loss_db": dict(losses)} for name, losses in MATERIALS.items()}


def _rotate(u: float, v: float, bearing_deg: float) -> list[float]:
    angle = math.radians(bearing_deg)
    return [round(u * math.cos(angle) - v * math.sin(angle), 3), round(u * math.sin(angle) + v * math.cos(angle), 3)]


def _rect(u0: float, u1: float, v0: float, v1: float, bearing_deg: float) -> list[list[float]]:
    return [_rotate(u, v, bearing_deg) for u, v in ((u0, v0), (u1, v0), (u1, v1), (u0, v1))]


def _wing(
    letter: str, bearing_deg: float, landings: int, cells_per_side: int, start_u: float, sensors_per_landing: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Rooms, end walls and corridor sensors of one wing; cells 1..n on the left side, n+1..2n on the right."""
    rooms: list[dict[str, Any]] = []
    walls: list[dict[str, Any]] = []
    sensors: list[dict[str, Any]] = []
    end_u = start_u + cells_per_side * CELL_PITCH_M
    outer = CORRIDOR_HALF_M + CELL_DEPTH_M
    zone = f"{letter}-wing"
    for landing in range(landings):
        for side, (v0, v1) in enumerate(((CORRIDOR_HALF_M, outer), (-outer, -CORRIDOR_HALF_M))):
            for k in range(cells_per_side):
                u0 = start_u + k * CELL_PITCH_M
                rooms.append(
                    {
                        "id": f"{letter}-{landing}-{side * cells_per_side + k + 1:02d}",
                        "kind": "cell",
                        "wing": letter,
                        "landing": landing,
                        "polygon": _rect(u0, u0 + CELL_PITCH_M, v0, v1, bearing_deg),
                        "zone": zone,
                        "wall_material": "brick_230mm",
                    }
                )
        rooms.append(
            {
                "id": f"{letter}-{landing}-landing",
                "kind": "landing",
                "wing": letter,
                "landing": landing,
                "polygon": _rect(start_u, end_u, -CORRIDOR_HALF_M, CORRIDOR_HALF_M, bearing_deg),
                "zone": zone,
            }
        )
        # sensors spread evenly along the corridor, staggered by half a spacing on odd landings
        spacing = (end_u - start_u) / sensors_per_landing
        for k in range(sensors_per_landing):
            u = start_u + spacing * (k + (0.75 if landing % 2 else 0.25))
            sensors.append(
                {
                    "id": f"s-{letter}{landing}-{k + 1}",
                    "position": [*_rotate(u, 0.0, bearing_deg), landing * FLOOR_HEIGHT_M + SENSOR_HEIGHT_M],
                }
            )
    walls.append(
        {
            "a": _rotate(end_u, -outer, bearing_deg),
            "b": _rotate(end_u, outer, bearing_deg),
            "material": "outer_wall_450mm",
        }
    )
    return rooms, walls, sensors


def _block(
    prefix: str,
    kind: str,
    zone: str,
    x0: float,
    y0: float,
    columns: int,
    rows: int,
    size_m: float,
    landings: int,
    material: str | None,
) -> list[dict[str, Any]]:
    rooms = []
    for landing in range(landings):
        for col in range(columns):
            for row in range(rows):
                x, y = x0 + col * size_m, y0 + row * size_m
                rooms.append(
                    {
                        "id": f"{prefix}-{landing}-{col * rows + row + 1:02d}",
                        "kind": kind,
                        "landing": landing,
                        "polygon": [[x, y], [x + size_m, y], [x + size_m, y + size_m], [x, y + size_m]],
                        "zone": zone,
                        **({"wall_material": material} if material else {}),
                    }
                )
    return rooms


def _zones(wings: list[str]) -> list[dict[str, Any]]:
    return [
        *({"id": f"{w}-wing", "kind": "cells"} for w in wings),
        {"id": "hub", "kind": "hub"},
        {"id": "staff", "kind": "staff", "phones_authorised": True, "never_block": True},
        {"id": "visits", "kind": "visits", "sensitive": True},
        {"id": "exercise", "kind": "exercise"},
        {"id": "outside", "kind": "outside", "never_block": True},
    ]


def radial_prison(landings: int = 3, cells_per_side: int = 20, sensors_per_landing: int = 3) -> dict[str, Any]:
    """Four wings (A east, B north, C west, D south) of `landings` landings round an octagonal hub."""
    letters = ["A", "B", "C", "D"]
    apothem = HUB_RADIUS_M * math.cos(math.pi / 8)
    rooms: list[dict[str, Any]] = []
    walls: list[dict[str, Any]] = []
    sensors: list[dict[str, Any]] = []
    for letter, bearing in zip(letters, (0.0, 90.0, 180.0, 270.0), strict=True):
        wing_rooms, wing_walls, wing_sensors = _wing(
            letter, bearing, landings, cells_per_side, apothem, sensors_per_landing
        )
        rooms += wing_rooms
        walls += wing_walls
        sensors += wing_sensors
    octagon = [_rotate(HUB_RADIUS_M, 0.0, 22.5 + 45 * k) for k in range(8)]
    for landing in range(landings):
        rooms.append(
            {
                "id": f"HUB-{landing}",
                "kind": "hub",
                "landing": landing,
                "polygon": octagon,
                "zone": "hub",
                "wall_material": "outer_wall_450mm",
            }
        )
    rooms += _block("OFFICE", "office", "staff", -52.0, -52.0, 4, 2, 4.0, 2, "office_partition")
    rooms += _block("VISITS", "visits", "visits", 32.0, -52.0, 1, 1, 18.0, 1, "outer_wall_450mm")
    rooms += _block("YARD-NE", "exercise", "exercise", 28.0, 28.0, 1, 1, 24.0, 1, None)
    rooms += _block("YARD-NW", "exercise", "exercise", -52.0, 28.0, 1, 1, 24.0, 1, None)
    rooms.append(
        {
            "id": "ROAD",
            "kind": "road",
            "polygon": [[-130.0, -100.0], [130.0, -100.0], [130.0, -90.0], [-130.0, -90.0]],
            "zone": "outside",
        }
    )
    sensors += [
        {"id": "s-HUB", "position": [0.0, 0.0, SENSOR_HEIGHT_M]},
        {"id": "s-OFFICE", "position": [-44.0, -48.0, SENSOR_HEIGHT_M]},
        {"id": "s-VISITS", "position": [41.0, -43.0, SENSOR_HEIGHT_M]},
    ]
    sensors += [
        {"id": f"s-PERIM-{name}", "position": [x, y, 4.0], "role": "perimeter"}
        for name, x, y in (("N", 0.0, 85.0), ("E", 85.0, 0.0), ("S", 0.0, -85.0), ("W", -85.0, 0.0))
    ]
    blockers = [
        {
            "id": f"BLK-{w}",
            "position": [*_rotate(apothem + 24.0, 0.0, b), FLOOR_HEIGHT_M + SENSOR_HEIGHT_M],
            "zones": [f"{w}-wing"],
            "bands": ["B8", "B20", "B28", "B3"],
        }
        for w, b in zip(letters, (0.0, 90.0, 180.0, 270.0), strict=True)
    ]
    return {
        "name": "hmp-reference",
        "floor_height_m": FLOOR_HEIGHT_M,
        "landings": landings,
        "floor_material": "reinforced_concrete_floor",
        "perimeter_material": "perimeter_concrete",
        "materials": _materials(),
        "zones": _zones(letters),
        "rooms": rooms,
        "walls": walls,
        "perimeter": [[-80.0, -80.0], [80.0, -80.0], [80.0, 80.0], [-80.0, 80.0]],
        "sensors": sensors,
        "blockers": blockers,
    }


def small_site() -> dict[str, Any]:
    """One wing of two landings with four cells a side (16 cells), an office, a road; four sensors."""
    rooms, walls, sensors = _wing("A", 0.0, 2, 4, 0.0, 1)
    sensors = [
        {"id": "s-A0-1", "position": [2.4, 0.0, SENSOR_HEIGHT_M]},
        {"id": "s-A0-2", "position": [7.2, 0.0, SENSOR_HEIGHT_M]},
        {"id": "s-A1-1", "position": [4.8, 0.0, FLOOR_HEIGHT_M + SENSOR_HEIGHT_M]},
        {"id": "s-PERIM-S", "position": [5.0, -22.0, 4.0], "role": "perimeter"},
    ]
    rooms += _block("OFFICE", "office", "staff", -12.0, -4.0, 2, 1, 4.0, 1, "office_partition")
    rooms.append(
        {
            "id": "ROAD",
            "kind": "road",
            "polygon": [[-40.0, -32.0], [50.0, -32.0], [50.0, -26.0], [-40.0, -26.0]],
            "zone": "outside",
        }
    )
    return {
        "name": "hmp-small",
        "floor_height_m": FLOOR_HEIGHT_M,
        "landings": 2,
        "floor_material": "reinforced_concrete_floor",
        "perimeter_material": "perimeter_concrete",
        "materials": _materials(),
        "zones": _zones(["A"]),
        "rooms": rooms,
        "walls": walls,
        "perimeter": [[-20.0, -20.0], [30.0, -20.0], [30.0, 20.0], [-20.0, 20.0]],
        "sensors": sensors,
        "blockers": [{"id": "BLK-A", "position": [4.8, 0.0, 5.7], "zones": ["A-wing"], "bands": ["B8", "B20"]}],
    }


def render(site: dict[str, Any]) -> str:
    header = "# Generated by `python -m cellward.site.reference_builder`; edit that module, not this file.\n"
    return header + yaml.safe_dump(site, sort_keys=False, default_flow_style=None, width=120)


def shipped_sites() -> dict[Path, str]:
    return {SITES_DIR / "reference.yaml": render(radial_prison()), SITES_DIR / "small.yaml": render(small_site())}


if __name__ == "__main__":
    SITES_DIR.mkdir(exist_ok=True)
    for path, text in shipped_sites().items():
        path.write_text(text)
        print(f"wrote {path}")
