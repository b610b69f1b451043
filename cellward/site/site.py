"""The validated site with its geometry index: room lookup by id or position, walls and slabs as flat arrays."""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cached_property
from typing import Any

import numpy as np
from pydantic import PrivateAttr

from cellward.site.geometry import locate_in_polygons, pack_polygons, point_in_polygon
from cellward.site.model import BlockerUnit, Material, Room, SensorPlacement, SiteFile, Wing, Zone

_MAX_CACHED_FREQUENCIES = 512


class _GeometryIndex:
    """Arrays built once per site: room polygons by landing, wall segments and heights, slab polygons."""

    def __init__(self, site: SiteFile) -> None:
        h = site.floor_height_m
        self.rooms_by_id = {r.id: r for r in site.rooms}
        self.zones_by_id = {z.id: z for z in site.zones}
        self.sensors_by_id = {s.id: s for s in site.sensors}
        self.materials_by_id = {m.id: m for m in site.materials}
        self.materials = site.materials
        material_index = {m.id: i for i, m in enumerate(site.materials)}

        self.room_vertices, self.room_offsets, self.room_boxes = pack_polygons([r.polygon for r in site.rooms])
        self.room_levels = np.array([r.landing for r in site.rooms], np.int64)

        self.wall_segments = np.array([(*w.start, *w.end) for w in site.walls], float).reshape(-1, 4)
        bottom = np.array([w.landing * h for w in site.walls], float)
        top = bottom + np.array([w.height_m if w.height_m is not None else h for w in site.walls], float)
        self.wall_z = np.stack([bottom, top], axis=1).reshape(-1, 2)
        self.wall_material = np.array([material_index.get(w.material, -1) for w in site.walls], np.int64)

        slabs = site.floors
        self.slab_z = np.array([s.landing * h for s in slabs], float)
        if slabs:
            self.slab_vertices, self.slab_offsets, self.slab_boxes = pack_polygons([s.polygon for s in slabs])
        else:
            self.slab_vertices, self.slab_offsets, self.slab_boxes = (
                np.zeros((0, 2)),
                np.zeros(1, np.int64),
                np.zeros((0, 4)),
            )
        self.slab_material = np.array([material_index.get(s.material, -1) for s in slabs], np.int64)
        self._loss_cache: dict[tuple[str, float], np.ndarray] = {}

    def wall_losses_db(self, freq_hz: float) -> np.ndarray:
        return self._losses("walls", self.wall_material, freq_hz)

    def slab_losses_db(self, freq_hz: float) -> np.ndarray:
        return self._losses("slabs", self.slab_material, freq_hz)

    def _losses(self, what: str, material: np.ndarray, freq_hz: float) -> np.ndarray:
        # Losses change by < 0.001 dB over 100 kHz; rounding keeps the cache small when a simulator asks for
        # every channel of every band.
        freq_hz = round(freq_hz, -5)
        key = (what, freq_hz)
        if key not in self._loss_cache:
            if len(self._loss_cache) >= _MAX_CACHED_FREQUENCIES:
                self._loss_cache.clear()
            # The trailing 0 dB is what index -1 (an unknown material) reads; load_site refuses such files anyway.
            per_material = np.array([m.loss_db_at(freq_hz) for m in self.materials] + [0.0])
            self._loss_cache[key] = per_material[material]
        return self._loss_cache[key]


class Site(SiteFile):
    """A site: the file's contents plus queries. Build it with `load_site`, which also runs the semantic checks."""

    _index: _GeometryIndex = PrivateAttr()

    def model_post_init(self, context: object, /) -> None:
        for room in self.rooms:
            room._floor_height_m = self.floor_height_m
        self._index = _GeometryIndex(self)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Site:
        """A copy; with `update` (e.g. other sensors for a density study) the geometry index is rebuilt.

        Like pydantic's model_copy, `update` is not validated: run `checks.site_problems` on the result if
        the new contents come from a person rather than from code.
        """
        copy = super().model_copy(update=update, deep=deep)
        if update:
            copy.__dict__.pop("cells", None)  # the cached_property of the original
            copy.model_post_init(None)
        return copy

    # -- lookups by id -------------------------------------------------------------------------------------

    @cached_property
    def cells(self) -> list[Room]:
        """Rooms of kind 'cell', in file order."""
        return [r for r in self.rooms if r.kind == "cell"]

    def room(self, room_id: str) -> Room:
        """The room with this id; KeyError naming the id when there is none."""
        try:
            return self._index.rooms_by_id[room_id]
        except KeyError:
            raise KeyError(f"site {self.name!r} has no room {room_id!r}") from None

    def zone(self, zone_id: str) -> Zone:
        """The zone with this id; KeyError naming the id when there is none."""
        try:
            return self._index.zones_by_id[zone_id]
        except KeyError:
            raise KeyError(f"site {self.name!r} has no zone {zone_id!r}") from None

    def sensor(self, sensor_id: str) -> SensorPlacement:
        """The sensor with this id; KeyError naming the id when there is none."""
        try:
            return self._index.sensors_by_id[sensor_id]
        except KeyError:
            raise KeyError(f"site {self.name!r} has no sensor {sensor_id!r}") from None

    def material(self, material_id: str) -> Material:
        """The material with this id; KeyError naming the id when there is none."""
        try:
            return self._index.materials_by_id[material_id]
        except KeyError:
            raise KeyError(f"site {self.name!r} has no material {material_id!r}") from None

    def wing(self, wing_id: str) -> Wing:
        """The wing with this id; KeyError naming the id when there is none."""
        for wing in self.wings:
            if wing.id == wing_id:
                return wing
        raise KeyError(f"site {self.name!r} has no wing {wing_id!r}")

    def blocker(self, blocker_id: str) -> BlockerUnit:
        """The blocker unit with this id; KeyError naming the id when there is none."""
        for unit in self.blockers:
            if unit.id == blocker_id:
                return unit
        raise KeyError(f"site {self.name!r} has no blocker {blocker_id!r}")

    # -- lookups by position -------------------------------------------------------------------------------

    def landing_at(self, z: float) -> int:
        """Landing number whose storey contains height z (landing n spans [n*h, (n+1)*h))."""
        return math.floor(z / self.floor_height_m)

    def room_at(self, x: float, y: float, z: float) -> Room | None:
        """The room containing the point, or None (outside every room, e.g. open ground inside the wall)."""
        index = int(self.room_indices_at(np.array([[x, y, z]], float))[0])
        return self.rooms[index] if index >= 0 else None

    def room_indices_at(self, points: np.ndarray) -> np.ndarray:
        """Index into `rooms` of the room containing each point of `points` (N, 3), -1 where none does."""
        points = np.ascontiguousarray(np.atleast_2d(points), float)
        levels = np.floor(points[:, 2] / self.floor_height_m).astype(np.int64)
        idx = self._index
        return locate_in_polygons(
            points[:, :2].copy(), levels, idx.room_vertices, idx.room_offsets, idx.room_boxes, idx.room_levels
        )

    def zone_at(self, x: float, y: float, z: float) -> Zone | None:
        """The zone of the room containing the point, or None."""
        room = self.room_at(x, y, z)
        return self.zone(room.zone) if room is not None else None

    def inside_perimeter(self, x: float, y: float) -> bool:
        """Whether the plan position lies inside the perimeter wall's line."""
        return point_in_polygon(x, y, self.perimeter)

    # -- arrays for the propagation kernels ----------------------------------------------------------------

    def wall_losses_db(self, freq_hz: float) -> np.ndarray:
        """Each wall's penetration loss at `freq_hz`, aligned with `wall_segments` (cached per frequency)."""
        return self._index.wall_losses_db(freq_hz)

    def slab_losses_db(self, freq_hz: float) -> np.ndarray:
        """Each floor slab's loss at `freq_hz`, aligned with `floors` (cached per frequency)."""
        return self._index.slab_losses_db(freq_hz)

    @property
    def geometry(self) -> _GeometryIndex:
        """Flat arrays of the site's geometry for vectorised kernels."""
        return self._index
