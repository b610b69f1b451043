"""A stand-in for cellward.site (h-site's package) until it lands: the agreed API, the simplest physics."""

from __future__ import annotations

import math
import sys
import types
import zlib
from dataclasses import dataclass, field


@dataclass
class Room:
    id: str
    kind: str
    wing: str | None
    landing: int
    polygon: list[tuple[float, float]]
    zone: str

    @property
    def centroid(self) -> tuple[float, float, float]:
        xs, ys = zip(*self.polygon, strict=True)
        return (sum(xs) / len(xs), sum(ys) / len(ys), self.landing * 3.0 + 1.5)


@dataclass
class SensorPlacement:
    id: str
    position: tuple[float, float, float]
    antenna_gain_dbi: float = 2.0
    cable_loss_db: float = 1.0
    calibration_offset_db: float = 0.0
    role: str = "internal"


@dataclass
class Zone:
    id: str
    kind: str
    phones_authorised: bool = False
    never_block: bool = False
    sensitive: bool = False


@dataclass
class BlockerUnit:
    id: str
    position: tuple[float, float, float]
    zones: list[str]
    bands: list[str]


@dataclass
class Site:
    name: str
    rooms: list[Room]
    sensors: list[SensorPlacement]
    floor_height_m: float = 3.0
    zones: list = field(default_factory=list)
    blockers: list = field(default_factory=list)

    @property
    def cells(self) -> list[Room]:
        return [r for r in self.rooms if r.kind == "cell"]

    def room(self, room_id: str) -> Room:
        for r in self.rooms:
            if r.id == room_id:
                return r
        raise KeyError(room_id)

    def room_at(self, x: float, y: float, z: float) -> Room | None:
        for r in self.rooms:
            xs, ys = zip(*r.polygon, strict=True)
            if min(xs) <= x < max(xs) and min(ys) <= y < max(ys) and r.landing == int(z // 3.0):
                return r
        return None


@dataclass
class PropagationParams:
    exponent: float = 3.0
    sigma_db: float = 4.0


class PropagationModel:
    def __init__(self, site: Site, params: PropagationParams) -> None:
        self.site, self.params = site, params

    def path_loss_db(self, tx, rx, freq_hz: float) -> float:
        d = max(1.0, math.dist(tx, rx))
        return 20 * math.log10(4 * math.pi * freq_hz / 3e8) + 10 * self.params.exponent * math.log10(d)

    def shadowing_db(self, tx, sensor_id: str, seed: int) -> float:
        return self.params.sigma_db * math.sin(tx[0] * 0.3 + tx[1] * 0.7 + zlib.crc32(sensor_id.encode()) % 7 + seed)

    def received_power_dbm(self, tx_power_dbm, tx, sensor, freq_hz, shadowing_db=0.0):
        return (
            tx_power_dbm
            - self.path_loss_db(tx, sensor.position, freq_hz)
            + sensor.antenna_gain_dbi
            - sensor.cable_loss_db
            + sensor.calibration_offset_db
            + shadowing_db
        )


def outdoor_path_loss_db(distance_m: float, freq_hz: float) -> float:
    return 20 * math.log10(4 * math.pi * freq_hz / 3e8) + 35 * math.log10(max(distance_m, 1.0))


def small_site() -> Site:
    rooms = [
        Room("A-0-01", "cell", "A", 0, [(0, 0), (4, 0), (4, 3), (0, 3)], "cells"),
        Room("A-0-02", "cell", "A", 0, [(4, 0), (8, 0), (8, 3), (4, 3)], "cells"),
        Room("A-1-01", "cell", "A", 1, [(0, 0), (4, 0), (4, 3), (0, 3)], "cells"),
        Room("OFF-1", "office", None, 0, [(0, 10), (6, 10), (6, 16), (0, 16)], "staff"),
        Room("ROAD", "road", None, 0, [(-50, -40), (60, -40), (60, -30), (-50, -30)], "outside"),
    ]
    sensors = [
        SensorPlacement("s1", (2.0, 5.0, 2.5)),
        SensorPlacement("s2", (20.0, 5.0, 2.5), calibration_offset_db=0.5),
        SensorPlacement("s3", (2.0, 30.0, 5.5), role="perimeter"),
    ]
    blockers = [BlockerUnit("BLK-1", (6.0, 1.5, 2.8), ["cells"], ["B8", "B20"])]
    zones = [Zone("cells", "cells"), Zone("staff", "staff", phones_authorised=True), Zone("outside", "outside")]
    return Site("stand-in", rooms, sensors, zones=zones, blockers=blockers)


def install() -> None:
    """Register this module as cellward.site and cellward.site.propagation when the real one is absent."""
    try:
        import cellward.site  # noqa: F401
    except ImportError:
        site = types.ModuleType("cellward.site")
        propagation = types.ModuleType("cellward.site.propagation")
        site.Site, site.load_site = Site, None
        propagation.PropagationModel, propagation.PropagationParams = PropagationModel, PropagationParams
        propagation.outdoor_path_loss_db = outdoor_path_loss_db
        site.propagation = propagation
        site.small_site_path = site.reference_site_path = None
        sys.modules["cellward.site"] = site
        sys.modules["cellward.site.propagation"] = propagation
