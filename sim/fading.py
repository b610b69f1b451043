"""Per-burst small-scale fading at each sensor: independent from burst to burst, fixed by the seed.

Bursts from a phone that moves or hops by more than the coherence time/bandwidth fade independently;
a narrow channel (GSM, PUCCH) sees deep fades, a wide allocation averages them over its band, so the
spread of the burst's mean power (dB, Gaussian approximation of the log of a Rician/Nakagami power)
shrinks with bandwidth. Values come from a counter-based hash of (seed, burst, sensor): no state, so
any window of any sensor can be computed alone and in any order, always the same.
"""

from __future__ import annotations

import numpy as np

NARROW_SIGMA_DB = 3.0  # 200 kHz and below
WIDE_SIGMA_DB = 1.0  # 5 MHz and above
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK
        x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK
        x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK
        return x ^ (x >> np.uint64(31))


def _uniform(seed: int, burst_ids: np.ndarray, sensor_index: int, stream: int) -> np.ndarray:
    key = (np.uint64(seed & 0xFFFFFFFF) << np.uint64(32)) ^ np.uint64((sensor_index << 8) | stream)
    with np.errstate(over="ignore"):
        bits = _splitmix64(_splitmix64(np.asarray(burst_ids, np.uint64) ^ key))
    return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def fading_db(seed: int, burst_ids: np.ndarray, sensor_index: int, bandwidth_hz: np.ndarray) -> np.ndarray:
    """Fading of each burst's mean received power at one sensor, dB (zero mean)."""
    u1 = _uniform(seed, burst_ids, sensor_index, 1)
    u2 = _uniform(seed, burst_ids, sensor_index, 2)
    normal = np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)
    share = np.clip(np.log10(np.asarray(bandwidth_hz, float) / 200e3) / np.log10(25), 0.0, 1.0)
    return normal * (NARROW_SIGMA_DB + share * (WIDE_SIGMA_DB - NARROW_SIGMA_DB))


def measurement_noise_db(seed: int, burst_ids: np.ndarray, sensor_index: int, sigma_db: float) -> np.ndarray:
    """Gaussian error of a sensor's power estimate (event mode), same draws for the same seed."""
    u1 = _uniform(seed, burst_ids, sensor_index, 3)
    u2 = _uniform(seed, burst_ids, sensor_index, 4)
    return sigma_db * np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)
