"""Shared pieces of evidence the classifiers weigh: soft likelihoods, measurement noise, timing grids."""

from __future__ import annotations

import math

import numpy as np

from dsp.classify.base import Candidate, Neighbours

GSM_FRAME_S = 120e-3 / 26  # 4.615 ms TDMA frame
LTE_SLOT_S = 0.5e-3
# ranges over which the broad models spread their probability evenly; shared so that no model gains
# by the width of its own range: nothing measured can be wider than the capture or longer than a dwell
MAX_BANDWIDTH_KHZ = 2.56e3
MAX_DURATION_MS = 250.0
KURTOSIS_RANGE = 5.0
KURTOSIS_FLOOR = -16.0


def log_uniform(width: float) -> float:
    return -math.log(width)


def log_gauss(x: float, mean: float, sigma: float, floor: float = -10.0, sigma_below: float | None = None) -> float:
    """log N(x; mean, sigma) without the constant, bounded below by `floor` so one odd feature can't veto
    alone (measurements have outliers: a burst cut by another, an impulse inside the window).

    `sigma_below`, when given, is the spread below the mean (measurements that can only fall short,
    such as the width of a weak burst).
    """
    if math.isnan(x):
        return 0.0
    spread = sigma_below if sigma_below is not None and x < mean else sigma
    return max(-0.5 * ((x - mean) / spread) ** 2 - math.log(spread), floor)


def log_mixture(
    x: float, components: tuple[tuple[float, float], ...], floor: float = -10.0, sigma_below: float | None = None
) -> float:
    """Best of several Gaussian components (e.g. GSM normal and access burst durations)."""
    return max(log_gauss(x, m, s, floor, sigma_below) for m, s in components)


def kurtosis_sigma(candidate: Candidate) -> float:
    """Standard deviation of the noise-corrected envelope kurtosis, from SNR and time-bandwidth product.

    Measured on simulated constant-envelope bursts: about 0.03 at high SNR, growing as 1/SNR at low SNR
    and as 1/sqrt(T*B) for short or narrow bursts.
    """
    samples = max(candidate.duration_s * candidate.bandwidth_hz, 20.0)
    return 0.04 + 0.7 / max(candidate.snr, 0.3) / math.sqrt(samples / 100.0)


def slot_runs_density(duration_ms: float, slot_ms: float, sigma_ms: float, max_slots: int = 40) -> float:
    """Density (per ms) of a run of 1..max_slots whole slots, measured with `sigma_ms` of noise."""
    k = max(1, min(max_slots, round(duration_ms / slot_ms)))
    return math.exp(-0.5 * ((duration_ms - k * slot_ms) / sigma_ms) ** 2) / (
        sigma_ms * math.sqrt(2 * math.pi) * max_slots
    )


def log_kurtosis(candidate: Candidate, mean: float, model_sigma: float = 0.0) -> float:
    """Evidence from the envelope kurtosis for a waveform whose kurtosis is `mean` (spread
    `model_sigma` across its modulations), measured with the noise of `kurtosis_sigma`. No phone
    waveform has a peaked envelope, so this floor is lower than other features' (impulses)."""
    measured = candidate.features.get("envelope_kurtosis", math.nan)
    return log_gauss(measured, mean, kurtosis_sigma(candidate) + model_sigma, floor=KURTOSIS_FLOOR)


def grid_matches(
    candidate: Candidate,
    neighbours: Neighbours,
    period_s: float,
    tolerance_s: float,
    max_periods: int,
    same_shape: bool = True,
) -> int:
    """How many neighbours start a whole number (1..max_periods) of `period_s` away from the candidate."""
    delta = np.abs(neighbours.start_s - candidate.start_s)
    periods = np.rint(delta / period_s)
    on_grid = (periods >= 1) & (periods <= max_periods) & (np.abs(delta - periods * period_s) <= tolerance_s)
    if same_shape:
        on_grid &= np.abs(neighbours.duration_s - candidate.duration_s) <= 0.15e-3
    return int(np.count_nonzero(on_grid))


def same_channel(candidate: Candidate, others: Neighbours, min_overlap: float = 0.5) -> np.ndarray:
    """Which of `others` belong to the candidate's emission: their common band is at least `min_overlap`
    of the wider one (a GSM ARFCN, a PUCCH resource block, the same PUSCH allocation), or one lies inside
    the other in frequency while they overlap in time (a fragment of a burst cut up by segmentation)."""
    overlap = np.minimum(others.high_hz, candidate.high_hz) - np.maximum(others.low_hz, candidate.low_hz)
    wider = np.maximum(np.maximum(others.bandwidth_hz, candidate.bandwidth_hz), 1.0)
    narrower = np.minimum(others.bandwidth_hz, candidate.bandwidth_hz)
    common_s = np.minimum(others.end_s, candidate.end_s) - np.maximum(others.start_s, candidate.start_s)
    concurrent = common_s >= 0.5 * np.minimum(others.duration_s, candidate.duration_s)
    return (overlap >= min_overlap * wider) | (concurrent & (overlap >= 0.9 * narrower))
