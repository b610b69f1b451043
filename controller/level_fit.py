"""The locator's robust transmit-power fit to the heard levels and its log-likelihood, compiled: each point's
EM rounds run in registers, where numpy made a dozen passes over (sensors, points) arrays per round.

Per-sensor arrays of shape (sensors, 1) stand for the same value at every point (a locator without a
calibration survey), so they are read at column 0."""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def robust_fit(
    offset: np.ndarray,
    w: np.ndarray,
    w_out: np.ndarray,
    log_prior_core: float,
    log_prior_outlier: float,
    steps: int,
    tx_min: float,
    tx_max: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Per point: the transmit power that best explains the levels when each may be an ordinary level
    (precision w, prior weight e^log_prior_core) or an outlier (w_out, e^log_prior_outlier), fitted by EM
    from the plain weighted mean, clipped to [tx_min, tx_max]; and the log-likelihood there (constants common
    to every point dropped). offset: (sensors, points) level minus 0 dBm model level. A -inf outlier prior
    makes it the plain Gaussian fit."""
    sensors, points = offset.shape
    per_point = w.shape[1] > 1
    # a residual r is ordinary rather than an outlier by the log odds d = favour - r^2 (w - w_out) / 2
    core_peak = log_prior_core + 0.5 * np.log(w)
    favour = core_peak - log_prior_outlier - 0.5 * np.log(w_out)
    spread = w - w_out
    num = np.zeros(points)
    den = np.zeros(points)
    for s in range(sensors):  # sensors outer, points inner: the tables are read along their rows
        for p in range(points):
            c = p if per_point else 0
            num[p] += offset[s, p] * w[s, c]
            den[p] += w[s, c]
    tx = np.minimum(np.maximum(num / den, tx_min), tx_max)
    for _ in range(steps):
        num[:] = 0.0
        den[:] = 0.0
        for s in range(sensors):
            for p in range(points):
                c = p if per_point else 0
                r = offset[s, p] - tx[p]
                inlier = 1.0 / (1.0 + math.exp(0.5 * r * r * spread[s, c] - favour[s, c]))
                weight = w_out[s, c] + inlier * spread[s, c]
                num[p] += offset[s, p] * weight
                den[p] += weight
        tx = np.minimum(np.maximum(num / den, tx_min), tx_max)
    loglik = np.zeros(points)
    for s in range(sensors):
        for p in range(points):
            c = p if per_point else 0
            r = offset[s, p] - tx[p]
            core = core_peak[s, c] - 0.5 * r * r * w[s, c]
            odds = favour[s, c] - 0.5 * r * r * spread[s, c]
            # log(e^core + e^outlier), outlier = core - odds, without overflow either way
            loglik[p] += core + math.log1p(math.exp(-odds)) if odds >= 0.0 else core - odds + math.log1p(math.exp(odds))
    return loglik, tx


def compile_kernels() -> None:
    """Compile (or load from numba's cache) now: compiling takes seconds, which must not land on the first
    phone a controller locates."""
    one = np.ones((1, 1))
    robust_fit(one, one, one, 0.0, -math.inf, 1, -40.0, 33.0)
