"""Counter-based random draws: a value per (seed, burst, sensor, stream), the same in any order or window.

A hash (splitmix64) of the key gives the uniforms, so a burst's draw at a sensor never depends on which
other bursts were asked for, and any window of any sensor can be computed alone.
"""

from __future__ import annotations

import numpy as np

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK
        x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK
        x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK
        return x ^ (x >> np.uint64(31))


def _uniform(seed: int, burst_ids: np.ndarray, sensor_index: int | np.ndarray, stream: int) -> np.ndarray:
    sensor_key = (np.asarray(sensor_index, np.uint64) << np.uint64(8)) | np.uint64(stream)
    key = (np.uint64(seed & 0xFFFFFFFF) << np.uint64(32)) ^ sensor_key
    with np.errstate(over="ignore"):
        bits = _splitmix64(_splitmix64(np.asarray(burst_ids, np.uint64) ^ key))
    return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def normal(seed: int, burst_ids: np.ndarray, sensor_index: int | np.ndarray, stream: int) -> np.ndarray:
    """Standard normal draws (Box-Muller on two hashed uniforms), one per burst id; `sensor_index` is one
    sensor or one per burst id (many sensors in one call)."""
    u1 = _uniform(seed, burst_ids, sensor_index, 2 * stream)
    u2 = _uniform(seed, burst_ids, sensor_index, 2 * stream + 1)
    return np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)
