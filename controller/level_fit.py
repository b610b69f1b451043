"""The locator's compiled likelihood kernels: the robust transmit-power fit to the heard levels and its
log-likelihood (or a cheap upper bound on it, with the exact value at chosen points), and the log probability that
the sensors that did not hear an emission missed it. Each replaces numpy that made a dozen passes over
(sensors, points) temporaries.

Per-sensor arrays of shape (sensors, 1) stand for the same value at every point (a locator without a
calibration survey), so they are read at column 0."""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
from numba import njit

# log(1 + e^-x) at x = 0, 0.5, ... 40: convex, so the chords between these knots lie above it (by at most
# 0.5^2 / 8 x 1/4 = 0.008 nats), and beyond the last it is below e^-40.
_SOFTPLUS_STEP = 0.5
_SOFTPLUS_KNOTS = np.log1p(np.exp(-np.arange(0.0, 40.0 + _SOFTPLUS_STEP, _SOFTPLUS_STEP)))


def _hermite_pieces(value: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """Cubic Hermite pieces (c0 + t (c1 + t (c2 + t c3)), t the fraction of a step) from the values at the knots
    and the slopes there times the step."""
    rise = np.diff(value)
    return np.column_stack(
        [value[:-1], slope[:-1], 3.0 * rise - 2.0 * slope[:-1] - slope[1:], slope[:-1] + slope[1:] - 2.0 * rise]
    )


# log(1 + e^-x) for the exact log-likelihood of a level, x in [0, SOFTPLUS_PIECES_END): cubic Hermite pieces
# 1/64 nat apart. A piece errs by at most step^4 / 384 x max |f''''|, and f'''' = s (1 - s) (1 - 6 s + 6 s^2) with
# s = 1 / (1 + e^x) is at most 1/8 in magnitude: within 2e-11 nats (tested against numpy). Beyond, f < 5e-18.
SOFTPLUS_PIECES_END = 40.0
_SOFTPLUS_PIECES_PER_NAT = 64.0
_knots = np.arange(0.0, SOFTPLUS_PIECES_END * _SOFTPLUS_PIECES_PER_NAT + 1.0) / _SOFTPLUS_PIECES_PER_NAT
_SOFTPLUS_PIECES = _hermite_pieces(np.log1p(np.exp(-_knots)), -1.0 / (1.0 + np.exp(_knots)) / _SOFTPLUS_PIECES_PER_NAT)
del _knots


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
        if per_point:
            for p in range(points):
                num[p] += offset[s, p] * w[s, p]
                den[p] += w[s, p]
                above = offset[s, p] - tx_max
                least_up[p] += above * (w_out[s, p] if above > 0.0 else w[s, p])
                below = tx_min - offset[s, p]
                least_down[p] += below * (w_out[s, p] if below > 0.0 else w[s, p])
        else:  # the sensor's precisions held, so that the choice between them is a blend, not a gather
            row, w_s, w_out_s = offset[s], w[s, 0], w_out[s, 0]
            for p in range(points):
                num[p] += row[p] * w_s
                den[p] += w_s
                above = row[p] - tx_max
                least_up[p] += above * (w_out_s if above > 0.0 else w_s)
                below = tx_min - row[p]
                least_down[p] += below * (w_out_s if below > 0.0 else w_s)
    tx = np.minimum(np.maximum(num / den, tx_min), tx_max)
    # Rounds go on only for the points whose power still moves: one that comes back unchanged (most often the
    # clip, far from the phone) would come back unchanged from every further round.
    moving = np.flatnonzero((least_up < 0.0) & (least_down < 0.0))
    if not per_point:  # and those the first round would leave at the clip (with a survey's precisions, it finds them)
        moving = moving[~_held_at_clip(offset, w_out[:, 0], favour[:, 0], spread[:, 0], tx, moving, tx_min, tx_max)]
    # The moving points' offsets gathered once, so that each round reads them along rows in a loop the compiler
    # vectorises. Most keep moving to the last round; one that stops is at a fixed point, which further rounds
    # leave where it is, so all run every round.
    rows = np.empty((sensors, moving.shape[0]))
    for s in range(sensors):
        for k in range(moving.shape[0]):
            rows[s, k] = offset[s, moving[k]]
    at = tx[moving]
    for _ in range(steps):
        at = _em_round(rows, at, moving, w_out, favour, spread, tx_min, tx_max)
    tx[moving] = at
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


@njit(cache=True)
def heard_offsets(level: np.ndarray, heard: np.ndarray, levels_dbm: np.ndarray) -> np.ndarray:
    """levels_dbm[i] - level[heard[i], p]: the (heard, points) offsets `robust_fit` takes, in one pass (numpy took
    a gather and a subtraction, twice the time)."""
    out = np.empty((heard.shape[0], level.shape[1]))
    for i in range(heard.shape[0]):
        row, measured = level[heard[i]], levels_dbm[i]
        for p in range(level.shape[1]):
            out[i, p] = measured - row[p]
    return out


# contract: the polynomial's multiply-adds fused (rounded once, not twice); no flag that could change a comparison
@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _em_round(
    rows: np.ndarray,
    at: np.ndarray,
    points: np.ndarray,
    w_out: np.ndarray,
    favour: np.ndarray,
    spread: np.ndarray,
    tx_min: float,
    tx_max: float,
) -> np.ndarray:
    """One EM round for some points: rows (sensors, points) their offsets, `at` their powers, `points` their
    columns in the precision tables (read when those hold one precision per point). A level at residual r weighs
    w_out + spread / (1 + e^a), a = r^2 spread / 2 - favour (its chance of being ordinary); the new power is the
    weighted mean, clipped."""
    per_point = w_out.shape[1] > 1
    num = np.zeros(at.shape[0])
    den = np.zeros(at.shape[0])
    for s in range(rows.shape[0]):
        row = rows[s]
        if per_point:
            for k in range(at.shape[0]):
                c = points[k]
                r = row[k] - at[k]
                weight = w_out[s, c] + spread[s, c] / (1.0 + _exp_bounded(0.5 * r * r * spread[s, c] - favour[s, c]))
                num[k] += row[k] * weight
                den[k] += weight
        else:  # the sensor's terms read once: a loop of contiguous rows
            w_out_s, favour_s, spread_s = w_out[s, 0], favour[s, 0], spread[s, 0]
            for k in range(at.shape[0]):
                r = row[k] - at[k]
                weight = w_out_s + spread_s / (1.0 + _exp_bounded(0.5 * r * r * spread_s - favour_s))
                num[k] += row[k] * weight
                den[k] += weight
    return np.minimum(np.maximum(num / den, tx_min), tx_max)


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
    a pull past the clip by more than rounding and `_exp_bounded` can move the round's weighted mean (1e-10 of
    the sum of weighted magnitudes, far above either) leaves the point at the clip."""
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


# e^a for the rounds' weights, a vectorisable polynomial: a is clamped to [-EXP_CLAMP, EXP_CLAMP] (beyond it a
# level's weight w_out + spread / (1 + e^a) moves by less than e^-64 spread), e^(a / 256) is the degree-11
# Taylor polynomial (error below 2e-17 relative for |a / 256| <= 0.25) and 8 squarings take it to e^a, each
# doubling the relative error and adding one rounding: within 1e-13 of e^a relative (the tests check 2e5 a).
EXP_CLAMP = 64.0


@njit(cache=True, inline="always")
def _exp_bounded(a: float) -> float:
    """e^a within 1e-13 relative for |a| <= EXP_CLAMP, e^(+-EXP_CLAMP) beyond (NaN for NaN)."""
    x = min(max(a, -EXP_CLAMP), EXP_CLAMP) * (1.0 / 256.0)
    y = 1.0 + x * (1.0 + x * (1 / 2 + x * (1 / 6 + x * (1 / 24 + x * (1 / 120 + x * (1 / 720 + x * (
        1 / 5040 + x * (1 / 40320 + x * (1 / 362880 + x * (1 / 3628800 + x * (1 / 39916800)))))))))))  # fmt: skip
    for _ in range(8):
        y *= y
    return y


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
    """log(e^core + e^outlier), outlier = core - odds: the larger plus log(1 + e^-|odds|), within 2e-11 nats
    (`_softplus`)."""
    return core - min(odds, 0.0) + _softplus(abs(odds))


@njit(cache=True)
def _softplus(x: float) -> float:
    """log(1 + e^-x) for x >= 0: from _SOFTPLUS_PIECES below SOFTPLUS_PIECES_END, exact beyond (and for NaN)."""
    at = x * _SOFTPLUS_PIECES_PER_NAT
    if not at < _SOFTPLUS_PIECES.shape[0]:
        return math.log1p(math.exp(-x))
    k = int(at)
    t = at - k
    c = _SOFTPLUS_PIECES[k]
    return c[0] + t * (c[1] + t * (c[2] + t * c[3]))


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


class CensoringTable(NamedTuple):
    """One missed sensor's log probability of the miss, as a function of its margin m = S - P - G (dB), for one
    pair of spreads and priors: cubic Hermite pieces, `coef[k]` on [low_db + k step, low_db + (k + 1) step] in
    the fraction t of the step (c0 + t (c1 + t (c2 + t c3))). Margins outside the pieces, and sensors of another
    static variance than `spread_var`, take the exact function."""

    coef: np.ndarray  # (pieces, 4)
    spread_var: float  # the static variance (a `variance` table's entry) of the sensors it serves
    low_db: float
    inv_step: float


# The pieces span -CENSOR_LOW_SD core spreads (the core term is below e^-250 of the outlier one beyond it) to
# CENSOR_HIGH_SD outlier spreads (a detection there is below 1e-20), CENSOR_KNOTS_PER_SD knots per core spread,
# at most CENSOR_MAX_PIECES pieces (with an outlier spread far wider than the core one, the highest margins
# are left to the exact function). A cubic Hermite piece errs by step^4 t^2 (1 - t)^2 / 24 x f''''(somewhere in
# it), most at its middle, as f'''' barely changes over one piece; 64 knots per spread leave 6e-10 nats at the
# eps = 0.05, 15 dB mixture's crossover (margin about -3 core spreads), 128 leave 4e-11. The build checks every
# piece's middle against the exact function and doubles the knots (up to 8x, or gives up the table: every
# margin exact) until all are within CENSOR_MAX_ERROR; the tests check 16 points per piece against scipy.
CENSOR_LOW_SD = 25.0
CENSOR_HIGH_SD = 9.0
CENSOR_KNOTS_PER_SD = 128
CENSOR_MAX_PIECES = 1 << 16
CENSOR_MAX_ERROR = 1e-10


@functools.lru_cache(maxsize=16)
def censoring_table(
    spread_var: float, fading_var: float, outlier_var: float, log_prior_core: float, log_prior_outlier: float
) -> CensoringTable:
    """The table for misses of a sensor whose level has variance spread_var + fading_var (+ outlier_var for an
    outlier): within CENSOR_MAX_ERROR nats of `_miss_log_probability` wherever it is used."""
    total = spread_var + fading_var
    core_sd, wide_sd = math.sqrt(total), math.sqrt(total + outlier_var)
    low = -CENSOR_LOW_SD * core_sd
    high = CENSOR_HIGH_SD * (wide_sd if log_prior_outlier > -math.inf else core_sd)
    priors = log_prior_core, log_prior_outlier
    knots = CENSOR_KNOTS_PER_SD
    while knots <= 8 * CENSOR_KNOTS_PER_SD:
        step = core_sd / knots
        pieces = min(math.ceil((high - low) / step), CENSOR_MAX_PIECES)
        knot_value, knot_slope = _miss_values(low + step * np.arange(pieces + 1.0), total, outlier_var, *priors)
        coef = _hermite_pieces(knot_value, step * knot_slope)
        middle, _ = _miss_values(low + step * (np.arange(pieces) + 0.5), total, outlier_var, *priors)
        error = np.abs(coef[:, 0] + 0.5 * (coef[:, 1] + 0.5 * (coef[:, 2] + 0.5 * coef[:, 3])) - middle).max()
        if error <= CENSOR_MAX_ERROR:
            return CensoringTable(coef, spread_var, low, 1.0 / step)
        knots *= 2
    return CensoringTable(np.zeros((0, 4)), spread_var, 0.0, 1.0)  # no pieces: every margin is exact


@njit(cache=True)
def _miss_values(
    margin: np.ndarray, total_var: float, outlier_var: float, log_prior_core: float, log_prior_outlier: float
) -> tuple[np.ndarray, np.ndarray]:
    """`_miss_log_probability` and its slope at some margins."""
    core_sd, wide_sd = math.sqrt(total_var), math.sqrt(total_var + outlier_var)
    p_core, p_outlier = math.exp(log_prior_core), math.exp(log_prior_outlier)
    value = np.empty(margin.shape[0])
    slope = np.empty(margin.shape[0])
    for k in range(margin.shape[0]):
        m = margin[k]
        value[k] = _miss_log_probability(m, core_sd, wide_sd, p_core, p_outlier, log_prior_core, log_prior_outlier)
        slope[k] = _miss_slope(m, value[k], core_sd, wide_sd, log_prior_core, log_prior_outlier)
    return value, slope


@njit(cache=True)
def _miss_slope(
    margin: float, value: float, core_sd: float, wide_sd: float, log_prior_core: float, log_prior_outlier: float
) -> float:
    """d/dm of `_miss_log_probability` (whose value at m is `value`): the mixture's density over its probability,
    in logarithms, as the density underflows far below the sensitivity."""
    core = log_prior_core - 0.5 * (margin / core_sd) ** 2 - math.log(core_sd) - _LOG_SQRT_2PI
    wide = log_prior_outlier - 0.5 * (margin / wide_sd) ** 2 - math.log(wide_sd) - _LOG_SQRT_2PI
    high, low = (core, wide) if core >= wide else (wide, core)
    return math.exp(high + math.log1p(math.exp(low - high)) - value)


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
    table: CensoringTable,
) -> np.ndarray:
    """Per point of `rows`: the log probability, summed over the `missed` sensors, that an emission at tx[point]
    stayed below their sensitivity: a level (spread variance + fading_var) or an outlier (outlier_var more) under
    the mixture's priors. level, variance: (sensors, points) tables; a variance of one column is every point's.
    Sensors of the table's static variance read it (within CENSOR_MAX_ERROR nats), any other the exact function."""
    per_point = variance.shape[1] > 1
    p_core = math.exp(log_prior_core)
    p_outlier = math.exp(log_prior_outlier)
    coef, pieces = table.coef, table.coef.shape[0]
    out = np.zeros(rows.shape[0])
    base = np.empty(rows.shape[0])  # the margin before the sensor's own level
    for j in range(rows.shape[0]):
        base[j] = sensitivity_dbm - tx[rows[j]]
    for i in range(missed.shape[0]):
        s = missed[i]
        for j in range(rows.shape[0]):
            p = rows[j]
            var = variance[s, p if per_point else 0]
            margin = base[j] - level[s, p]
            at = (margin - table.low_db) * table.inv_step
            if var == table.spread_var and 0.0 <= at < pieces:  # false for NaN: never an index out of the table
                k = int(at)
                t = at - k
                out[j] += coef[k, 0] + t * (coef[k, 1] + t * (coef[k, 2] + t * coef[k, 3]))
            else:
                core_sd = math.sqrt(var + fading_var)
                wide_sd = math.sqrt(var + fading_var + outlier_var)
                out[j] += _miss_log_probability(
                    margin, core_sd, wide_sd, p_core, p_outlier, log_prior_core, log_prior_outlier
                )
    return out


@njit(cache=True)
def _miss_log_probability(
    margin: float,
    core_sd: float,
    wide_sd: float,
    p_core: float,
    p_outlier: float,
    log_prior_core: float,
    log_prior_outlier: float,
) -> float:
    """log((1 - eps) Phi(margin / core_sd) + eps Phi(margin / wide_sd)) at full precision."""
    z_core = margin / core_sd
    z_wide = margin / wide_sd
    if margin > 0.0:
        # most missed sensors are far: P(heard) is a small tail, and log(1 - it) is exact to 1e-16 nats
        return math.log(1.0 - (p_core * _tail(z_core) + p_outlier * _tail(z_wide)))
    if z_core > -30.0:  # Phi(z) far above underflow: the mixture's probability itself, one logarithm
        return math.log(p_core * _phi(z_core) + p_outlier * _phi(z_wide))
    if p_outlier > 0.0:
        core = log_prior_core + log_ndtr(z_core)
        wide = log_prior_outlier + log_ndtr(z_wide)
        high, low = (core, wide) if core >= wide else (wide, core)
        return high + math.log1p(math.exp(low - high))
    return log_ndtr(z_core)


@njit(cache=True)
def _phi(z: float) -> float:
    """Phi(z), the standard normal distribution function."""
    return 0.5 * math.erfc(-z * _SQRT_HALF)


@njit(cache=True)
def _tail(z: float) -> float:
    """1 - Phi(z) for z >= 0; 0 where it is below double precision's resolution next to 1."""
    return 0.5 * math.erfc(z * _SQRT_HALF) if z < 8.5 else 0.0


@njit(cache=True, error_model="numpy")
def room_sums(
    log_post: np.ndarray, room_starts: np.ndarray, points: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per room, its points contiguous from its start: the log of its summed posterior weight e^log_post, its
    posterior-mean position (its first point's when it has no weight at all) and its likeliest point (the first
    of equals). In one pass; numpy took a dozen over the coarse grid's points."""
    n, rooms = log_post.shape[0], room_starts.shape[0]
    top = log_post.max() if n else -np.inf
    flat = not np.isfinite(top)  # no point has any weight: every point weighs the same (and each room nothing)
    log_room = np.empty(rooms)
    position = np.empty((rooms, 3))
    best = np.empty(rooms, dtype=np.int64)
    for r in range(rooms):
        start = room_starts[r]
        end = room_starts[r + 1] if r + 1 < rooms else n
        mass, x, y, z = 0.0, 0.0, 0.0, 0.0
        best[r] = start
        for p in range(start, end):
            weight = 1.0 if flat else math.exp(log_post[p] - top)
            mass += weight
            x += weight * points[p, 0]
            y += weight * points[p, 1]
            z += weight * points[p, 2]
            if log_post[p] > log_post[best[r]]:
                best[r] = p
        log_room[r] = np.log(mass) + top
        if mass > 0.0:
            position[r, 0], position[r, 1], position[r, 2] = x / mass, y / mass, z / mass
        else:
            position[r, :] = points[start]
    return log_room, position, best


def compile_kernels() -> None:
    """Compile (or load from numba's cache) now: compiling takes seconds, which must not land on the first
    phone a controller locates."""
    one = np.ones((1, 1))
    index = np.zeros(1, dtype=np.int64)
    heard_offsets(one, index, np.zeros(1))
    room_sums(np.zeros(1), index, np.zeros((1, 3)))
    robust_fit(one, one, one, 0.0, -math.inf, 1, -40.0, 33.0, True)
    loglik_at(one, one, one, 0.0, -math.inf, np.zeros(1), index)
    table = censoring_table(1.0, 1.0, 1.0, 0.0, -math.inf)
    censored_sum(one, one, index, index, np.zeros(1), -100.0, 1.0, 1.0, 0.0, -math.inf, table)
