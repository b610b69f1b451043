"""Radio propagation in and around the site: the levels the simulator makes and the locator predicts.

Indoor path loss is the COST-231 multi-wall model (as in ITU-R P.1238's site-specific form):

    L(d, f) = 20 log10(4 pi f / c) + 10 n log10(d / 1 m) + sum_i L_wall,i(f)
              + k_f^((k_f + 2)/(k_f + 1) - b) L_floor(f)

with n = 2 (free space between obstacles) by default, one term per wall the straight path crosses (by
its material, interpolated in log-frequency), k_f floors crossed and b = 0.46 (COST-231's empirical
floor term: each further floor costs less, because some energy goes round through windows and shafts).
Shadowing is log-normal with sigma `sigma_db` and an exponential spatial correlation
exp(-distance / decorrelation_m) (Gudmundson), drawn per sensor as a smooth random field so that two
nearby transmitters see nearly the same excess loss at one sensor. Per-burst fading is Rician.
The outdoor path to the serving base station (which sets a phone's transmit power through power
control) is Okumura-Hata below 1500 MHz and COST-231 Hata above, for an urban macro cell.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from cellward.site.model import Point3, SensorPlacement
from cellward.site.site import Site

SPEED_OF_LIGHT_M_S = 299_792_458.0
RANDOM_FEATURES = 256  # cosines summed per shadowing field: enough for a near-Gaussian field


@dataclass(frozen=True)
class PropagationParams:
    """Everything the propagation model assumes. The simulator's truth and the locator's model may
    use different values (the locator must not share the simulator's exact physics)."""

    exponent: float = 2.0
    floor_b: float = 0.46
    wall_loss_offset_db: float = 0.0  # added to every wall (a site whose walls are heavier than modelled)
    material_offset_db: dict[str, float] = field(default_factory=dict)  # per material
    wall_variation_db: float = 0.0  # per-wall random deviation from the material's loss (truth only)
    variation_seed: int = 0
    sigma_db: float = 4.0  # log-normal shadowing
    decorrelation_m: float = 5.0
    rician_k_db: float = 3.0  # per-burst fading


def free_space_loss_1m_db(freq_hz: float) -> float:
    return 20 * math.log10(4 * math.pi * freq_hz / SPEED_OF_LIGHT_M_S)


def outdoor_path_loss_db(distance_m: float, freq_hz: float, base_height_m: float = 30.0, mobile_height_m: float = 1.5):
    """Median loss to an urban macro cell: Okumura-Hata (< 1500 MHz) or COST-231 Hata, never below free space."""
    f_mhz = freq_hz / 1e6
    d_km = max(distance_m, 20.0) / 1e3
    a_hm = (1.1 * math.log10(f_mhz) - 0.7) * mobile_height_m - (1.56 * math.log10(f_mhz) - 0.8)
    slope = (44.9 - 6.55 * math.log10(base_height_m)) * math.log10(d_km)
    if f_mhz < 1500:
        loss = 69.55 + 26.16 * math.log10(f_mhz) - 13.82 * math.log10(base_height_m) - a_hm + slope
    else:
        loss = 46.3 + 33.9 * math.log10(f_mhz) - 13.82 * math.log10(base_height_m) - a_hm + slope + 3.0
    return max(loss, free_space_loss_1m_db(freq_hz) + 20 * math.log10(max(distance_m, 1.0)))


def fading_db(rng: np.random.Generator, size: int | tuple[int, ...], k_db: float) -> np.ndarray:
    """Rician power fading in dB (mean power 1): per-burst variation of a received level."""
    k = 10 ** (k_db / 10)
    scatter = (rng.standard_normal(size) + 1j * rng.standard_normal(size)) * math.sqrt(0.5 / (k + 1))
    power = np.abs(math.sqrt(k / (k + 1)) + scatter) ** 2
    return 10 * np.log10(np.maximum(power, 1e-12))


class PropagationModel:
    """Path loss, shadowing and received levels for one site under one set of parameters."""

    def __init__(self, site: Site, params: PropagationParams | None = None) -> None:
        self.site = site
        self.params = params or PropagationParams()
        walls = site.walls
        self._wall_a = np.array([w.a for w in walls], np.float64).reshape(-1, 2)
        self._wall_b = np.array([w.b for w in walls], np.float64).reshape(-1, 2)
        self._wall_landing = np.array([w.landing for w in walls], np.int64)
        self._wall_material = [w.material for w in walls]
        rng = np.random.default_rng(self.params.variation_seed)
        self._wall_variation = rng.normal(0.0, self.params.wall_variation_db, len(walls))
        self._loss_cache: dict[float, np.ndarray] = {}
        self._fields: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}

    # ---- path loss -------------------------------------------------------------------------------

    def wall_losses_db(self, freq_hz: float) -> np.ndarray:
        """Loss of each resolved wall at this frequency (dB), offsets and variation included."""
        key = round(freq_hz, -3)
        if key not in self._loss_cache:
            p = self.params
            materials = self.site.materials
            base = np.array(
                [materials[m].loss_at(freq_hz) + p.material_offset_db.get(m, 0.0) for m in self._wall_material]
            )
            self._loss_cache[key] = np.maximum(base + p.wall_loss_offset_db + self._wall_variation, 0.0)
        return self._loss_cache[key]

    def wall_loss_db_many(self, tx_points: np.ndarray, rx: Point3, per_wall_db: np.ndarray) -> np.ndarray:
        """Sum of `per_wall_db` over the walls the straight path from each transmitter to `rx` crosses, a
        wall counting when the path is on the wall's landing where it passes it."""
        tx = np.atleast_2d(np.asarray(tx_points, np.float64))
        return _crossed_wall_sums(
            tx,
            np.asarray(rx, np.float64),
            self._wall_a,
            self._wall_b,
            self._wall_landing,
            np.asarray(per_wall_db, np.float64),
            self.site.floor_height_m,
        )

    def floors_between(self, tx_points: np.ndarray, rx: Point3) -> np.ndarray:
        tx = np.atleast_2d(np.asarray(tx_points, np.float64))
        h = self.site.floor_height_m
        tx_landing = np.floor(tx[:, 2] / h).clip(0, None)
        return np.abs(tx_landing - max(0.0, math.floor(rx[2] / h)))

    def path_loss_db_many(self, tx_points: np.ndarray, rx: Point3, freq_hz: float) -> np.ndarray:
        """Mean path loss (dB, no shadowing) from each of N transmitters (N, 3) to one receiver."""
        tx = np.atleast_2d(np.asarray(tx_points, np.float64))
        distance = np.maximum(np.linalg.norm(tx - np.asarray(rx, np.float64), axis=1), 1.0)
        loss = free_space_loss_1m_db(freq_hz) + 10 * self.params.exponent * np.log10(distance)
        loss = loss + self.wall_loss_db_many(tx, rx, self.wall_losses_db(freq_hz))
        floors = self.floors_between(tx, rx)
        floor_loss = self.site.materials[self.site.floor_material].loss_at(freq_hz)
        exponent = (floors + 2) / (floors + 1) - self.params.floor_b
        return loss + np.where(floors > 0, floors**exponent * floor_loss, 0.0)

    def path_loss_db(self, tx: Point3, rx: Point3, freq_hz: float) -> float:
        return float(self.path_loss_db_many(np.asarray([tx]), rx, freq_hz)[0])

    def wall_and_floor_counts(self, tx: Point3, rx: Point3) -> tuple[int, int]:
        one_each = np.ones(self._wall_landing.shape[0])
        walls = self.wall_loss_db_many(np.asarray([tx]), rx, one_each)[0]
        return round(walls), int(self.floors_between(np.asarray([tx]), rx)[0])

    # ---- shadowing and levels --------------------------------------------------------------------

    def shadowing_db_many(self, tx_points: np.ndarray, sensor_id: str, seed: int) -> np.ndarray:
        """Correlated log-normal shadowing (dB) at one sensor for transmitters at (N, 3) points.

        A sum of random cosines whose wave vectors follow a 3-D Student-t with one degree of freedom
        scaled by 1 / decorrelation_m has exactly the exponential correlation exp(-d / decorrelation_m)
        (the Matern-1/2 kernel's spectrum); the same (sensor, seed) always gives the same field.
        """
        waves, phases = self._field(sensor_id, seed)
        points = np.atleast_2d(np.asarray(tx_points, np.float64))
        scale = self.params.sigma_db * math.sqrt(2.0 / RANDOM_FEATURES)
        return scale * np.cos(points @ waves.T + phases).sum(axis=1)

    def shadowing_db(self, tx: Point3, sensor_id: str, seed: int) -> float:
        return float(self.shadowing_db_many(np.asarray([tx]), sensor_id, seed)[0])

    def _field(self, sensor_id: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
        key = (sensor_id, seed)
        if key not in self._fields:
            rng = np.random.default_rng([zlib.crc32(sensor_id.encode()), seed])
            normal = rng.standard_normal((RANDOM_FEATURES, 3))
            chi = np.abs(rng.standard_normal((RANDOM_FEATURES, 1)))  # chi with one degree of freedom
            waves = normal / chi / self.params.decorrelation_m
            self._fields[key] = (waves, rng.uniform(0, 2 * math.pi, RANDOM_FEATURES))
        return self._fields[key]

    def received_power_dbm(
        self, tx_power_dbm: float, tx: Point3, sensor: SensorPlacement, freq_hz: float, shadowing_db: float = 0.0
    ) -> float:
        """Level at the sensor's receiver input: tx - path loss + shadowing + antenna gain - cable loss,
        plus the sensor's calibration offset (what its dBm reading shows for this true level)."""
        return (
            tx_power_dbm
            - self.path_loss_db(tx, sensor.position, freq_hz)
            + shadowing_db
            + sensor.antenna_gain_dbi
            - sensor.cable_loss_db
            + sensor.calibration_offset_db
        )

    def gain_table_db(self, tx_points: np.ndarray, sensors: Sequence[SensorPlacement], freq_hz: float) -> np.ndarray:
        """(N, sensors) mean level for a 0 dBm transmitter at each point: what the locator compares with."""
        table = np.empty((np.atleast_2d(tx_points).shape[0], len(sensors)))
        for j, sensor in enumerate(sensors):
            table[:, j] = (
                -self.path_loss_db_many(tx_points, sensor.position, freq_hz)
                + sensor.antenna_gain_dbi
                - sensor.cable_loss_db
                + sensor.calibration_offset_db
            )
        return table


@njit(cache=True, nogil=True)
def _crossed_wall_sums(
    tx: np.ndarray,
    rx: np.ndarray,
    wall_a: np.ndarray,
    wall_b: np.ndarray,
    wall_landing: np.ndarray,
    per_wall: np.ndarray,
    floor_height_m: float,
) -> np.ndarray:
    out = np.zeros(tx.shape[0])
    for i in range(tx.shape[0]):
        px, py, pz = tx[i, 0], tx[i, 1], tx[i, 2]
        rx_, ry = rx[0] - px, rx[1] - py
        low_x, high_x = min(px, rx[0]), max(px, rx[0])
        low_y, high_y = min(py, rx[1]), max(py, rx[1])
        for w in range(wall_a.shape[0]):
            ax, ay, bx, by = wall_a[w, 0], wall_a[w, 1], wall_b[w, 0], wall_b[w, 1]
            if max(ax, bx) < low_x or min(ax, bx) > high_x or max(ay, by) < low_y or min(ay, by) > high_y:
                continue
            sx, sy = bx - ax, by - ay
            denominator = rx_ * sy - ry * sx
            if abs(denominator) < 1e-12:
                continue
            qx, qy = ax - px, ay - py
            t = (qx * sy - qy * sx) / denominator
            u = (qx * ry - qy * rx_) / denominator
            if t <= 1e-9 or t >= 1 - 1e-9 or u < 0 or u > 1:
                continue
            z = pz + t * (rx[2] - pz)
            if max(0.0, math.floor(z / floor_height_m)) == wall_landing[w]:
                out[i] += per_wall[w]
    return out
