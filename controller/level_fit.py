"""The locator's compiled likelihood kernels: the robust transmit-power fit to the heard levels and its
log-likelihood (or a cheap upper bound on it, with the exact value at chosen points), and the log probability that
the sensors that did not hear an emission missed it. Each replaces numpy that made a dozen passes over
(sensors, points) temporaries.

Per-sensor arrays of shape (sensors, 1) stand for the same value at every point (a locator without a
calibration survey), so they are read at column 0."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# log(1 + e^-x) at x = 0, 0.5, ... 40: convex, so the chords between these knots lie above it (by at most
# 0.5^2 / 8 x 1/4 = 0.008 nats), and beyond the last it is below e^-40.
_SOFTPLUS_STEP = 0.5
_SOFTPLUS_KNOTS = np.log1p(np.exp(-np.arange(0.0, 40.0 + _SOFTPLUS_STEP, _SOFTPLUS_STEP)))


@njit(cache=True, error_model="numpy")  # IEEE division: no zero check in the loops (no weight is 0)
def robust_fit(
    offset: np.ndarray,
    w: np.ndarray,
    w_out: np.ndarray,
    log_prior_core: float,
    log_prior_outlier: float,
    steps: int,
    tx_min: float,
    tx_max: float,
    exact: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Per point: the transmit power that best explains the levels when each may be an ordinary level
    (precision w, prior weight e^log_prior_core) or an outlier (w_out, e^log_prior_outlier), fitted by EM
    from the plain weighted mean, clipped to [tx_min, tx_max]; and the log-likelihood there (constants common
    to every point dropped), or with `exact` False an upper bound on it, within 0.008 nats per sensor and
    without a logarithm or exponential, to choose the points worth `loglik_at`. offset: (sensors, points)
    level minus 0 dBm model level. A -inf outlier prior makes it the plain Gaussian fit."""
    sensors, points = offset.shape
    per_point = w.shape[1] > 1
    core_peak, favour, spread = _mixture_terms(w, w_out, log_prior_core, log_prior_outlier)
    num = np.zeros(points)
    den = np.zeros(points)
    # Every round's weights lie between w_out and w: weighting each offset above tx_max least and each below it
    # most gives the lowest pull any round can have; when it still pulls up, every round ends at the clip.
    # Likewise, below tx_min.
    least_up = np.zeros(points)
    least_down = np.zeros(points)
    for s in range(sensors):  # sensors outer, points inner: the tables are read along their rows
        for p in range(points):
            c = p if per_point else 0
            num[p] += offset[s, p] * w[s, c]
            den[p] += w[s, c]
            above = offset[s, p] - tx_max
            least_up[p] += above * (w_out[s, c] if above > 0.0 else w[s, c])
            below = tx_min - offset[s, p]
            least_down[p] += below * (w_out[s, c] if below > 0.0 else w[s, c])
    tx = np.minimum(np.maximum(num / den, tx_min), tx_max)
    # Rounds go on only for the points whose power still moves: one that comes back unchanged (most often the
    # clip, far from the phone) would come back unchanged from every further round.
    moving = np.flatnonzero((least_up < 0.0) & (least_down < 0.0))
    if not per_point:  # and those the first round would leave at the clip (with a survey's precisions, it finds them)
        moving = moving[~_held_at_clip(offset, w_out[:, 0], favour[:, 0], spread[:, 0], tx, moving, tx_min, tx_max)]
    for _ in range(steps):
        num[moving] = 0.0
        den[moving] = 0.0
        for s in range(sensors):
            for p in moving:
                c = p if per_point else 0
                r = offset[s, p] - tx[p]
                inlier = 1.0 / (1.0 + math.exp(0.5 * r * r * spread[s, c] - favour[s, c]))
                weight = w_out[s, c] + inlier * spread[s, c]
                num[p] += offset[s, p] * weight
                den[p] += weight
        fit = np.minimum(np.maximum(num[moving] / den[moving], tx_min), tx_max)
        moved = fit != tx[moving]
        tx[moving] = fit
        moving = moving[moved]
    loglik = np.zeros(points)
    for s in range(sensors):
        if per_point:
            for p in range(points):
                r = offset[s, p] - tx[p]
                loglik[p] += _level_loglik(r, core_peak[s, p], w[s, p], favour[s, p], spread[s, p], exact)
        else:  # the sensor's terms read once and its offsets as a row, not indexed again per point: a tighter loop
            row, peak, w_s, favour_s, spread_s = offset[s], core_peak[s, 0], w[s, 0], favour[s, 0], spread[s, 0]
            for p in range(points):
                loglik[p] += _level_loglik(row[p] - tx[p], peak, w_s, favour_s, spread_s, exact)
    return loglik, tx


@njit(cache=True, error_model="numpy")
def _held_at_clip(
    offset: np.ndarray,
    w_out: np.ndarray,
    favour: np.ndarray,
    spread: np.ndarray,
    tx: np.ndarray,
    moving: np.ndarray,
    tx_min: float,
    tx_max: float,
) -> np.ndarray:
    """Whether the first EM round surely leaves each point of `moving` at the clip it starts at, as it does most
    far points, so that every round would: found without the round's exponentials. w_out, favour, spread: one per
    sensor.

    In the round a level weighs w_out + spread / (1 + e^a), a = r^2 spread / 2 - favour at the clip. The Taylor
    polynomial of e^a to degree 5 is below it for every a (the remainder is even), so e^a lies between it and 1 /
    that of e^-a (where positive). With each level that pulls past the clip weighted least and each other most,
    a pull past the clip by more than rounding can move the round's weighted mean (1e-10 of the sum of weighted
    magnitudes, far above it) leaves the point at the clip."""
    held = np.zeros(moving.shape[0], dtype=np.bool_)
    clipped = moving[(tx[moving] == tx_max) | (tx[moving] == tx_min)]
    at = tx[clipped]
    past_sign = np.where(at == tx_max, 1.0, -1.0)  # a residual of this sign pulls past the clip
    pull = np.zeros(clipped.shape[0])  # the least pull past the clip the round can have
    magnitude = np.zeros(clipped.shape[0])
    levels = np.empty(clipped.shape[0])
    for s in range(offset.shape[0]):
        row, w_out_s, favour_s, spread_s = offset[s], w_out[s], favour[s], spread[s]
        for k in range(clipped.shape[0]):  # gathered first, so that the loop below is vectorised
            levels[k] = row[clipped[k]]
        for k in range(clipped.shape[0]):
            r = levels[k] - at[k]
            a = 0.5 * r * r * spread_s - favour_s
            exp_below = _exp_taylor(a)
            inverse_below = _exp_taylor(-a)
            exp_below = exp_below if exp_below > 0.0 else 0.0
            inverse_below = inverse_below if inverse_below > 0.0 else 0.0
            most = w_out_s + spread_s / (1.0 + exp_below)
            least = w_out_s + spread_s * inverse_below / (inverse_below + 1.0)
            past = r * past_sign[k]
            pull[k] += past * (least if past > 0.0 else most)
            magnitude[k] += most * (abs(levels[k]) + abs(at[k]) + 1.0)
    held[np.searchsorted(moving, clipped[pull > 1e-10 * magnitude])] = True
    return held


@njit(cache=True, inline="always")
def _exp_taylor(a: float) -> float:
    """1 + a + a^2/2 + ... + a^5/120, below e^a for every a."""
    return 1.0 + a * (1.0 + a * (0.5 + a * (1.0 / 6.0 + a * (1.0 / 24.0 + a * (1.0 / 120.0)))))


@njit(cache=True)
def loglik_at(
    offset: np.ndarray,
    w: np.ndarray,
    w_out: np.ndarray,
    log_prior_core: float,
    log_prior_outlier: float,
    tx: np.ndarray,
    rows: np.ndarray,
) -> np.ndarray:
    """`robust_fit`'s log-likelihood at the points `rows` (in table order, best), given its transmit powers."""
    per_point = w.shape[1] > 1
    # the mixture's terms of these points only: it is called chunk after chunk on a few of many points
    columns = rows if per_point else np.zeros(1, np.int64)
    w, w_out = w[:, columns], w_out[:, columns]
    core_peak, favour, spread = _mixture_terms(w, w_out, log_prior_core, log_prior_outlier)
    loglik = np.zeros(rows.shape[0])
    for s in range(offset.shape[0]):
        for j in range(rows.shape[0]):
            p = rows[j]
            c = j if per_point else 0
            loglik[j] += _level_loglik(offset[s, p] - tx[p], core_peak[s, c], w[s, c], favour[s, c], spread[s, c], True)
    return loglik


@njit(cache=True)
def _mixture_terms(
    w: np.ndarray, w_out: np.ndarray, log_prior_core: float, log_prior_outlier: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A level's log weight as ordinary at residual 0 (core_peak), and how far it favours ordinary over outlier:
    by the log odds favour - r^2 spread / 2."""
    core_peak = log_prior_core + 0.5 * np.log(w)
    favour = core_peak - log_prior_outlier - 0.5 * np.log(w_out)
    return core_peak, favour, w - w_out


@njit(cache=True, inline="always")
def _level_loglik(r: float, core_peak: float, w: float, favour: float, spread: float, exact: bool) -> float:
    """One level's log-likelihood at residual r (`_mixture_terms`), or without `exact` its upper bound."""
    core = core_peak - 0.5 * r * r * w
    odds = favour - 0.5 * r * r * spread
    return _log_mixture(core, odds) if exact else core - min(odds, 0.0) + _softplus_above(abs(odds))


@njit(cache=True)
def _log_mixture(core: float, odds: float) -> float:
    """log(e^core + e^outlier), outlier = core - odds: the larger plus a log1p that cannot overflow (without a
    branch on the sign of odds, which the processor could not predict)."""
    return core - min(odds, 0.0) + math.log1p(math.exp(-abs(odds)))


@njit(cache=True)
def _softplus_above(x: float) -> float:
    """An upper bound on log(1 + e^-x), x >= 0, from the chords of _SOFTPLUS_KNOTS."""
    at = x / _SOFTPLUS_STEP
    if not at < _SOFTPLUS_KNOTS.shape[0] - 1:  # beyond the table, or NaN: never an index out of it
        return _SOFTPLUS_KNOTS[-1]
    k = int(at)
    return _SOFTPLUS_KNOTS[k] + (at - k) * (_SOFTPLUS_KNOTS[k + 1] - _SOFTPLUS_KNOTS[k])


_SQRT_HALF = math.sqrt(0.5)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


@njit(cache=True)
def log_ndtr(z: float) -> float:
    """log Phi(z) at full precision over the whole line, as scipy.special.log_ndtr: from the complementary tail
    above 0 (Phi near 1), erfc below, the asymptotic series where Phi(z) would underflow."""
    if z > 0.0:
        return math.log1p(-0.5 * math.erfc(z * _SQRT_HALF))
    if z > -20.0:
        return math.log(0.5 * math.erfc(-z * _SQRT_HALF))
    inv2 = 1.0 / (z * z)
    series = 1.0 - inv2 * (1.0 - 3.0 * inv2 * (1.0 - 5.0 * inv2 * (1.0 - 7.0 * inv2)))
    return -0.5 * z * z - math.log(-z) - _LOG_SQRT_2PI + math.log(series)


@njit(cache=True)
def censored_sum(
    level: np.ndarray,
    variance: np.ndarray,
    missed: np.ndarray,
    rows: np.ndarray,
    tx: np.ndarray,
    sensitivity_dbm: float,
    fading_var: float,
    outlier_var: float,
    log_prior_core: float,
    log_prior_outlier: float,
) -> np.ndarray:
    """Per point of `rows`: the log probability, summed over the `missed` sensors, that an emission at tx[point]
    stayed below their sensitivity: a level (spread variance + fading_var) or an outlier (outlier_var more) under
    the mixture's priors. level, variance: (sensors, points) tables; a variance of one column is every point's."""
    per_point = variance.shape[1] > 1
    p_core = math.exp(log_prior_core)
    p_outlier = math.exp(log_prior_outlier)
    out = np.zeros(rows.shape[0])
    for i in range(missed.shape[0]):
        s = missed[i]
        core_sd = math.sqrt(variance[s, 0] + fading_var)
        wide_sd = math.sqrt(variance[s, 0] + fading_var + outlier_var)
        for j in range(rows.shape[0]):
            p = rows[j]
            if per_point:
                core_sd = math.sqrt(variance[s, p] + fading_var)
                wide_sd = math.sqrt(variance[s, p] + fading_var + outlier_var)
            margin = sensitivity_dbm - tx[p] - level[s, p]
            z_core = margin / core_sd
            z_wide = margin / wide_sd
            if margin > 0.0:
                # most missed sensors are far: P(heard) is a small tail, and log(1 - it) is exact to 1e-16 nats
                out[j] += math.log(1.0 - (p_core * _tail(z_core) + p_outlier * _tail(z_wide)))
            elif z_core > -30.0:  # Phi(z) far above underflow: the mixture's probability itself, one logarithm
                out[j] += math.log(p_core * _phi(z_core) + p_outlier * _phi(z_wide))
            elif p_outlier > 0.0:
                core = log_prior_core + log_ndtr(z_core)
                wide = log_prior_outlier + log_ndtr(z_wide)
                high, low = (core, wide) if core >= wide else (wide, core)
                out[j] += high + math.log1p(math.exp(low - high))
            else:
                out[j] += log_ndtr(z_core)
    return out


@njit(cache=True)
def _phi(z: float) -> float:
    """Phi(z), the standard normal distribution function."""
    return 0.5 * math.erfc(-z * _SQRT_HALF)


@njit(cache=True)
def _tail(z: float) -> float:
    """1 - Phi(z) for z >= 0; 0 where it is below double precision's resolution next to 1."""
    return 0.5 * math.erfc(z * _SQRT_HALF) if z < 8.5 else 0.0


def compile_kernels() -> None:
    """Compile (or load from numba's cache) now: compiling takes seconds, which must not land on the first
    phone a controller locates."""
    one = np.ones((1, 1))
    robust_fit(one, one, one, 0.0, -math.inf, 1, -40.0, 33.0, True)
    index = np.zeros(1, dtype=np.int64)
    loglik_at(one, one, one, 0.0, -math.inf, np.zeros(1), index)
    censored_sum(one, one, index, index, np.zeros(1), -100.0, 1.0, 1.0, 0.0, -math.inf)
