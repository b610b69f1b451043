"""A small two-wing, two-landing prison in the shape of the site-model contract (CONTRACTS.md, h-site).

It stands in for `cellward.site.load_site(small_site_path())` until h-site's package is merged; the web
view reads only the contract's fields, so swapping it for the real loader changes nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FLOOR_HEIGHT_M = 3.0
CELL_W_M, CELL_D_M = 3.0, 4.0
CELLS_PER_SIDE = 4


@dataclass(frozen=True)
class Room:
    id: str
    kind: str
    wing: str | None
    landing: int
    polygon: list[tuple[float, float]]
    zone: str

    @property
    def centroid(self) -> tuple[float, float, float]:
        xs = [p[0] for p in self.polygon]
        ys = [p[1] for p in self.polygon]
        return (sum(xs) / len(xs), sum(ys) / len(ys), (self.landing + 0.5) * FLOOR_HEIGHT_M)


@dataclass(frozen=True)
class Zone:
    id: str
    kind: str
    phones_authorised: bool = False
    never_block: bool = False
    sensitive: bool = False


@dataclass(frozen=True)
class SensorPlacement:
    id: str
    position: tuple[float, float, float]
    role: str = "internal"
    antenna_gain_dbi: float = 2.0
    cable_loss_db: float = 1.0
    calibration_offset_db: float = 0.0


@dataclass(frozen=True)
class BlockerUnit:
    id: str
    position: tuple[float, float, float]
    zones: list[str]
    bands: list[str]


@dataclass
class Site:
    name: str
    floor_height_m: float
    rooms: list[Room]
    zones: list[Zone]
    sensors: list[SensorPlacement]
    blockers: list[BlockerUnit]
    perimeter: list[tuple[float, float]]
    walls: list = field(default_factory=list)

    @property
    def cells(self) -> list[Room]:
        return [room for room in self.rooms if room.kind == "cell"]

    def room(self, room_id: str) -> Room:
        return next(room for room in self.rooms if room.id == room_id)


def _rect(x: float, y: float, w: float, d: float) -> list[tuple[float, float]]:
    return [(x, y), (x + w, y), (x + w, y + d), (x, y + d)]


def small_prison() -> Site:
    """Wings A (west) and B (east), each two rows of four cells either side of a landing corridor."""
    rooms: list[Room] = []
    for wing, x0 in (("A", 0.0), ("B", 20.0)):
        for landing in (0, 1):
            number = 1
            for row_y in (0.0, 7.0):
                for i in range(CELLS_PER_SIDE):
                    rooms.append(
                        Room(
                            f"{wing}-{landing}-{number:02d}",
                            "cell",
                            wing,
                            landing,
                            _rect(x0 + i * CELL_W_M, row_y, CELL_W_M, CELL_D_M),
                            f"cells-{wing.lower()}",
                        )
                    )
                    number += 1
            rooms.append(
                Room(
                    f"{wing}-{landing}-L", "landing", wing, landing, _rect(x0, 4.0, 12.0, 3.0), f"cells-{wing.lower()}"
                )
            )
    rooms.append(Room("S-0-01", "office", None, 0, _rect(13.0, 0.0, 6.0, 11.0), "staff"))
    rooms.append(Room("S-1-01", "office", None, 1, _rect(13.0, 0.0, 6.0, 11.0), "staff"))
    return Site(
        name="HMP Testbury",
        floor_height_m=FLOOR_HEIGHT_M,
        rooms=rooms,
        zones=[
            Zone("cells-a", "cells"),
            Zone("cells-b", "cells"),
            Zone("staff", "staff", phones_authorised=True, never_block=True),
        ],
        sensors=[
            SensorPlacement("s-a0", (6.0, 5.5, 2.5)),
            SensorPlacement("s-b0", (26.0, 5.5, 2.5)),
            SensorPlacement("s-a1", (6.0, 5.5, 5.5)),
            SensorPlacement("s-per", (16.0, -4.0, 1.5), role="perimeter"),
        ],
        blockers=[BlockerUnit("blk-a0", (1.0, 5.5, 2.5), ["cells-a"], ["B8", "B20"])],
        perimeter=[(-5.0, -6.0), (37.0, -6.0), (37.0, 17.0), (-5.0, 17.0)],
    )
