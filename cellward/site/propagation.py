"""Indoor path loss over a site (COST-231 multi-wall model), shadowing, fading and the received level at a sensor.

    L(d, f) = L_FS(d0, f) + 10 n log10(d / d0) + L_c + s_w * sum_i L_wall,i(f) + s_f * Lbar_f(f) * k^((k+2)/(k+1) - b)

L_FS(d0, f) = 20 log10(4 pi d0 f / c) is free space at the reference distance, n the distance exponent (2 in the
multi-wall model, where the walls carry the excess), L_wall,i each crossed wall's material loss at f, k the number
of floor slabs crossed, Lbar_f their mean material loss and b = 0.46 the COST-231 empirical factor that makes
each further floor cost less. The wall and floor terms together are capped (max_penetration_loss_db): a straight
line through dozens of walls would otherwise predict losses that the energy going round them never suffers.
Parameters live in `PropagationParams` so a simulation's "truth" can differ from
the model a locator assumes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, Field

from cellward.site.fading import fading_db
from cellward.site.geometry import floor_crossings, wall_crossings
from cellward.site.model import SensorPlacement
from cellward.site.outdoor import outdoor_path_loss_db
from cellward.site.shadowing import ShadowingMaps
from cellward.site.site import Site

SPEED_OF_LIGHT_M_S = 299_792_458.0
# Point-to-sensor paths per call when a table is built: large enough to spread numpy's per-call cost, small
# enough that the temporaries stay a few MB.
TABLE_SEGMENTS_PER_CALL = 50_000

__all__ = ["PathLossTerms", "PropagationModel", "PropagationParams", "fading_db", "outdoor_path_loss_db"]


class PropagationParams(BaseModel):
    """Every tunable of the propagation model, with defaults and their sources in docs/site.md."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path_loss_exponent: float = Field(2.0, gt=0, description="Distance exponent n (2 = free space; walls add the rest)")
    reference_distance_m: float = Field(1.0, gt=0, description="Reference distance d0 of the free-space term, m")
    min_distance_m: float = Field(0.5, gt=0, description="Distances below this are clamped (near field), m")
    constant_loss_db: float = Field(0.0, description="Constant L_c of the multi-wall model, dB")
    wall_loss_scale: float = Field(1.0, ge=0, description="Multiplier s_w on every wall's material loss")
    wall_loss_offset_db: float = Field(0.0, description="Added to every wall's loss (walls heavier than modelled)")
    material_offset_db: dict[str, float] = Field(
        default_factory=dict, description="Added to the loss of walls and slabs of a material, by material id"
    )
    wall_variation_db: float = Field(
        0.0, ge=0, description="Std of a fixed random deviation of each wall from its material (a 'truth' site)"
    )
    variation_seed: int = Field(0, description="Seed of the per-wall deviations")
    floor_loss_scale: float = Field(1.0, ge=0, description="Multiplier s_f on every slab's material loss")
    floor_b: float = Field(0.46, description="COST-231 nonlinear floor factor b")
    max_penetration_loss_db: float = Field(
        80.0,
        gt=0,
        description="Cap on wall + floor loss: past it, energy arriving round the walls (corridors, windows, "
        "outside) dominates, which a straight-line wall count does not see",
    )
    shadowing_sigma_db: float = Field(4.0, ge=0, description="Log-normal shadowing standard deviation, dB")
    decorrelation_m: float = Field(3.0, gt=0, description="Gudmundson decorrelation distance d_corr, m")
    shadowing_grid_m: float = Field(0.5, gt=0, description="Spacing of the shadowing field's grid, m")
    fading_k_db: float | None = Field(3.0, description="Rician K factor of per-burst fading, dB (null = Rayleigh)")
    coherence_bandwidth_hz: float = Field(5e6, gt=0, description="Indoor coherence bandwidth for fading diversity")
    building_entry_loss_db: float = Field(
        20.0, ge=0, description="Extra loss from an indoor phone to the outdoor serving cell (heavy masonry)"
    )

    @property
    def exponent(self) -> float:
        """Alias of path_loss_exponent."""
        return self.path_loss_exponent

    @property
    def sigma_db(self) -> float:
        """Alias of shadowing_sigma_db."""
        return self.shadowing_sigma_db

    @property
    def rician_k_db(self) -> float | None:
        """Alias of fading_k_db."""
        return self.fading_k_db


@dataclass(frozen=True)
class PathLossTerms:
    """The parts of one path loss, for explanations and tests."""

    distance_m: float
    distance_loss_db: float
    walls: int
    wall_loss_db: float
    floors: int
    floor_loss_db: float

    @property
    def total_db(self) -> float:
        return self.distance_loss_db + self.wall_loss_db + self.floor_loss_db


class PropagationModel:
    """Path loss, shadowing, fading and received power over one site with one set of parameters."""

    def __init__(self, site: Site, params: PropagationParams | None = None) -> None:
        self.site = site
        self.params = params or PropagationParams()
        self._sensor_index = {s.id: i for i, s in enumerate(site.sensors)}
        self._shadowing: ShadowingMaps | None = None
        # Real walls are not all alike: a "truth" model may give each wall a fixed deviation from its material.
        rng = np.random.default_rng(self.params.variation_seed)
        self._wall_variation_db = rng.normal(0.0, self.params.wall_variation_db, len(site.walls))

    # -- mean path loss ------------------------------------------------------------------------------------

    def _wall_losses_db(self, freq_hz: float) -> np.ndarray:
        """Each wall's loss at freq_hz with this model's offsets and fixed per-wall deviations (before scaling)."""
        p = self.params
        losses = self.site.wall_losses_db(freq_hz) + p.wall_loss_offset_db + self._wall_variation_db
        if p.material_offset_db:
            losses = losses + self._material_offsets(self.site.walls)
        return np.maximum(losses, 0.0)

    def _slab_losses_db(self, freq_hz: float) -> np.ndarray:
        losses = self.site.slab_losses_db(freq_hz)
        if self.params.material_offset_db:
            losses = np.maximum(losses + self._material_offsets(self.site.floors), 0.0)
        return losses

    def _material_offsets(self, items: list) -> np.ndarray:
        offsets = self.params.material_offset_db
        return np.array([offsets.get(item.material, 0.0) for item in items], float)

    def path_loss_terms_many(
        self, tx_points: np.ndarray, rx_points: np.ndarray, freq_hz: float
    ) -> dict[str, np.ndarray]:
        """Arrays of distance_m, distance_loss_db, walls, wall_loss_db, floors, floor_loss_db for each pair.

        tx_points (N, 3) and rx_points (N, 3) or (3,) in metres; the sum of the *_db arrays is the path loss.
        """
        p = self.params
        a = np.ascontiguousarray(np.atleast_2d(np.asarray(tx_points, float)))
        b = np.ascontiguousarray(np.broadcast_to(np.asarray(rx_points, float), a.shape))
        geo = self.site.geometry
        walls, wall_loss = wall_crossings(a, b, geo.wall_segments, geo.wall_z, self._wall_losses_db(freq_hz))
        floors, slab_loss = floor_crossings(
            a, b, geo.slab_z, geo.slab_vertices, geo.slab_offsets, geo.slab_boxes, self._slab_losses_db(freq_hz)
        )
        distance = np.maximum(np.linalg.norm(b - a, axis=1), p.min_distance_m)
        free_space_d0 = 20.0 * math.log10(4.0 * math.pi * p.reference_distance_m * freq_hz / SPEED_OF_LIGHT_M_S)
        distance_loss = (
            free_space_d0
            + 10.0 * p.path_loss_exponent * np.log10(distance / p.reference_distance_m)
            + p.constant_loss_db
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_slab = np.where(floors > 0, slab_loss / np.maximum(floors, 1), 0.0)
            exponent = (floors + 2.0) / (floors + 1.0) - p.floor_b
            floor_loss = np.where(floors > 0, mean_slab * np.power(np.maximum(floors, 1), exponent), 0.0)
        wall_loss = p.wall_loss_scale * wall_loss
        floor_loss = p.floor_loss_scale * floor_loss
        # Past the cap, scale both parts down together so their sum is the cap and each keeps its share.
        penetration = wall_loss + floor_loss
        shrink = np.where(
            penetration > p.max_penetration_loss_db, p.max_penetration_loss_db / np.maximum(penetration, 1e-12), 1.0
        )
        return {
            "distance_m": distance,
            "distance_loss_db": distance_loss,
            "walls": walls,
            "wall_loss_db": wall_loss * shrink,
            "floors": floors,
            "floor_loss_db": floor_loss * shrink,
        }

    def path_loss_db_many(self, tx_points: np.ndarray, rx_xyz: np.ndarray, freq_hz: float) -> np.ndarray:
        """Mean path loss (dB, no shadowing) from each of tx_points (N, 3) to rx (3,) or to rx_points (N, 3)."""
        t = self.path_loss_terms_many(tx_points, rx_xyz, freq_hz)
        return t["distance_loss_db"] + t["wall_loss_db"] + t["floor_loss_db"]

    def path_loss_db(self, tx_xyz: ArrayLike, rx_xyz: ArrayLike, freq_hz: float) -> float:
        """Mean path loss in dB between two points (no shadowing), deterministic."""
        return float(self.path_loss_db_many(np.asarray(tx_xyz, float)[None, :], rx_xyz, freq_hz)[0])

    def path_loss_terms(self, tx_xyz: ArrayLike, rx_xyz: ArrayLike, freq_hz: float) -> PathLossTerms:
        """The parts of the path loss between two points."""
        t = self.path_loss_terms_many(np.asarray(tx_xyz, float)[None, :], rx_xyz, freq_hz)
        return PathLossTerms(
            distance_m=float(t["distance_m"][0]),
            distance_loss_db=float(t["distance_loss_db"][0]),
            walls=int(t["walls"][0]),
            wall_loss_db=float(t["wall_loss_db"][0]),
            floors=int(t["floors"][0]),
            floor_loss_db=float(t["floor_loss_db"][0]),
        )

    def wall_and_floor_counts(self, tx_xyz: ArrayLike, rx_xyz: ArrayLike) -> tuple[int, int]:
        """Number of walls and floor slabs on the straight path between two points."""
        walls, floors = self.wall_and_floor_counts_many(np.asarray(tx_xyz, float)[None, :], rx_xyz)
        return int(walls[0]), int(floors[0])

    def wall_and_floor_counts_many(self, tx_points: np.ndarray, rx_points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Walls and slabs crossed from each tx point (N, 3) to rx (3,) or rx_points (N, 3)."""
        t = self.path_loss_terms_many(tx_points, rx_points, 900e6)
        return t["walls"], t["floors"]

    def path_loss_table_db(
        self, tx_points: np.ndarray, freq_hz: float, sensors: list[SensorPlacement] | None = None
    ) -> np.ndarray:
        """Mean path loss (N, S) from every tx point (N, 3) to every sensor (default: all of the site's)."""
        sensors = self.site.sensors if sensors is None else sensors
        tx_points = np.atleast_2d(np.asarray(tx_points, float))
        n = len(tx_points)
        table = np.empty((n, len(sensors)))
        # Every point to a group of sensors in one call, sensor by sensor: numpy's per-call cost spread over
        # the group, the kernel's runs of one receiver intact, and the arrays bounded.
        per_call = max(1, TABLE_SEGMENTS_PER_CALL // max(n, 1))
        for first in range(0, len(sensors), per_call):
            group = np.array([s.position for s in sensors[first : first + per_call]], float).reshape(-1, 3)
            loss = self.path_loss_db_many(np.tile(tx_points, (len(group), 1)), np.repeat(group, n, axis=0), freq_hz)
            table[:, first : first + len(group)] = loss.reshape(len(group), n).T
        return table

    # -- shadowing and fading ------------------------------------------------------------------------------

    def _maps(self) -> ShadowingMaps:
        if self._shadowing is None:
            xy = [xy for r in self.site.rooms for xy in r.polygon] + list(self.site.perimeter)
            xy += [s.position[:2] for s in self.site.sensors]
            lo, hi = np.min(xy, axis=0) - 10.0, np.max(xy, axis=0) + 10.0
            p = self.params
            self._shadowing = ShadowingMaps(
                (lo[0], lo[1], hi[0], hi[1]), p.shadowing_sigma_db, p.decorrelation_m, p.shadowing_grid_m
            )
        return self._shadowing

    def shadowing_db_many(self, tx_points: np.ndarray, sensor_id: str, seed: int) -> np.ndarray:
        """Shadowing (dB) on the path from each tx point (N, 3) to the sensor: correlated in space, fixed by seed."""
        self._sensor(sensor_id)  # fail early and clearly on an unknown id
        tx_points = np.atleast_2d(np.asarray(tx_points, float))
        landings = np.clip(np.floor(tx_points[:, 2] / self.site.floor_height_m), 0, self.site.landings - 1)
        return self._maps().sample_db(tx_points[:, :2], landings.astype(np.int64), sensor_id, seed)

    def shadowing_db(self, tx_xyz: ArrayLike, sensor_id: str, seed: int) -> float:
        """Shadowing (dB) on the path from tx to the sensor: spatially correlated log-normal, deterministic per seed."""
        return float(self.shadowing_db_many(np.asarray(tx_xyz, float)[None, :], sensor_id, seed)[0])

    def fading_db(self, rng: np.random.Generator, size: int | tuple[int, ...], bandwidth_hz: float) -> np.ndarray:
        """Per-burst fading draws in dB for bursts of this bandwidth, from the params' K factor."""
        p = self.params
        return fading_db(rng, size, p.fading_k_db, bandwidth_hz, p.coherence_bandwidth_hz)

    # -- received power ------------------------------------------------------------------------------------

    def _sensor(self, sensor: SensorPlacement | str) -> SensorPlacement:
        if isinstance(sensor, SensorPlacement):
            return sensor
        if sensor not in self._sensor_index:
            raise KeyError(f"site {self.site.name!r} has no sensor {sensor!r}")
        return self.site.sensors[self._sensor_index[sensor]]

    @staticmethod
    def sensor_gain_db(sensor: SensorPlacement) -> float:
        """What the sensor chain adds to the air level: antenna gain - cable loss + calibration offset, dB."""
        return sensor.antenna_gain_dbi - sensor.cable_loss_db + sensor.calibration_offset_db

    def received_power_dbm(
        self,
        tx_power_dbm: float,
        tx_xyz: ArrayLike,
        sensor: SensorPlacement | str,
        freq_hz: float,
        shadowing_db: float = 0.0,
    ) -> float:
        """Level the sensor reports: tx power - path loss + antenna gain - cable loss + calibration offset.

        `shadowing_db` is added as an extra loss (positive = weaker), e.g. from `shadowing_db(...)`.
        """
        sensor = self._sensor(sensor)
        loss = self.path_loss_db(tx_xyz, sensor.position, freq_hz) + shadowing_db
        return tx_power_dbm - loss + self.sensor_gain_db(sensor)

    def received_power_table_dbm(
        self,
        tx_power_dbm: float | np.ndarray,
        tx_points: np.ndarray,
        freq_hz: float,
        seed: int | None = None,
    ) -> np.ndarray:
        """Reported level (N, S) at every site sensor from every tx point; shadowed when a seed is given."""
        table = self.gain_table_db(tx_points, None, freq_hz)
        for j, sensor in enumerate(self.site.sensors):
            if seed is not None:
                table[:, j] -= self.shadowing_db_many(tx_points, sensor.id, seed)
        return table + np.asarray(tx_power_dbm, float).reshape(-1, 1)

    def gain_table_db(self, tx_points: np.ndarray, sensors: list[SensorPlacement] | None, freq_hz: float) -> np.ndarray:
        """Level (N, S) each sensor reports per dBm transmitted: -path loss + the sensor chain's gain, no shadowing."""
        sensors = self.site.sensors if sensors is None else list(sensors)
        gains = np.array([self.sensor_gain_db(s) for s in sensors], float)
        return gains[None, :] - self.path_loss_table_db(tx_points, freq_hz, sensors)

    def serving_cell_path_loss_db(self, distance_m: float, freq_hz: float, indoors: bool = True, **hata) -> float:
        """Path loss to the serving base station (Hata) plus building entry loss for an indoor phone."""
        entry = self.params.building_entry_loss_db if indoors else 0.0
        return outdoor_path_loss_db(distance_m, freq_hz, **hata) + entry
