"""The locator's compiled kernels: the robust fit of a phone's transmit power to the levels it was heard at, and
the log probability that the sensors which did not hear it missed it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import log_ndtr as scipy_log_ndtr

from controller.level_fit import (
    CENSOR_MAX_ERROR,
    censored_sum,
    censoring_table,
    log_ndtr,
    loglik_at,
    robust_fit,
)
from tests.support.fresh_interpreter import run_fresh

EPS = 0.05


def mixture_loglik(offset: np.ndarray, w: np.ndarray, w_out: np.ndarray, tx: float) -> float:
    r = offset - tx
    core = math.log1p(-EPS) + 0.5 * (np.log(w) - r * r * w)
    outlier = math.log(EPS) + 0.5 * (np.log(w_out) - r * r * w_out)
    return float(np.logaddexp(core, outlier).sum())


def test_without_outliers_it_is_the_weighted_mean_and_the_gaussian_loglik() -> None:
    offset = np.array([[10.0, -3.0], [14.0, -1.0], [12.0, 1.0]])
    w = np.array([[1.0], [1.0], [0.5]])
    loglik, tx = robust_fit(offset, w, w, 0.0, -math.inf, 3, -40.0, 33.0)
    expected_tx = (offset * w).sum(axis=0) / w.sum()
    assert tx == pytest.approx(expected_tx)
    r = offset - expected_tx
    assert loglik == pytest.approx((0.5 * (np.log(w) - r * r * w)).sum(axis=0))


def test_one_level_far_off_is_taken_for_an_outlier() -> None:
    """Four levels agree on 10 dBm, one reads 30 dB high: the fit stays near 10 dBm (the plain mean is 16) and
    reaches the mixture's maximum likelihood, as a direct search over the power finds it."""
    offset = np.array([[10.2], [9.6], [10.1], [9.9], [40.0]])
    w = np.full((5, 1), 1 / 16.0)
    w_out = 1.0 / (1.0 / w + 15.0**2)
    loglik, tx = robust_fit(offset, w, w_out, math.log1p(-EPS), math.log(EPS), 20, -40.0, 33.0)
    best = minimize_scalar(lambda t: -mixture_loglik(offset[:, 0], w[:, 0], w_out[:, 0], t), bounds=(-40, 33))
    assert abs(tx[0] - 10.0) < 1.0
    assert tx[0] == pytest.approx(best.x, abs=0.05)
    assert loglik[0] == pytest.approx(-best.fun, abs=1e-4)


def test_power_is_clipped_to_what_a_phone_can_send_and_per_point_precisions_are_read() -> None:
    offset = np.array([[80.0, 5.0], [80.0, 5.0]])
    w = np.array([[1.0, 0.25], [1.0, 0.25]])
    loglik, tx = robust_fit(offset, w, w, 0.0, -math.inf, 3, -40.0, 33.0)
    assert tx == pytest.approx([33.0, 5.0])
    assert loglik[1] == pytest.approx(2 * 0.5 * math.log(0.25))


@pytest.mark.parametrize("z", [-300.0, -45.0, -20.5, -20.0, -19.5, -8.0, -1.0, 0.0, 0.3, 5.9, 6.1, 9.0, 40.0])
def test_log_ndtr_is_scipys_across_every_branch(z: float) -> None:
    assert log_ndtr(z) == pytest.approx(float(scipy_log_ndtr(z)), rel=1e-9, abs=1e-300)


def test_censored_sum_is_the_mixtures_miss_probability_summed_over_the_missed_sensors() -> None:
    """Checked against the mixture written out with scipy, at points taken out of order and with a sensor
    between the missed ones that heard the phone (not summed)."""
    rng = np.random.default_rng(5)
    level = rng.uniform(-120.0, -40.0, size=(4, 6))
    variance = rng.uniform(4.0, 30.0, size=(4, 6))
    tx = rng.uniform(-10.0, 30.0, size=6)
    missed, rows = np.array([0, 2, 3]), np.array([5, 1, 3])
    sens, fading_var, outlier_var = -95.0, 9.0, 225.0
    priors = math.log1p(-EPS), math.log(EPS)
    table = censoring_table(16.0, fading_var, outlier_var, *priors)  # for none of these variances: all exact
    got = censored_sum(level, variance, missed, rows, tx, sens, fading_var, outlier_var, *priors, table)
    margin = sens - tx[rows][None, :] - level[np.ix_(missed, rows)]
    var = variance[np.ix_(missed, rows)] + fading_var
    core = priors[0] + scipy_log_ndtr(margin / np.sqrt(var))
    wide = priors[1] + scipy_log_ndtr(margin / np.sqrt(var + outlier_var))
    assert got == pytest.approx(np.logaddexp(core, wide).sum(axis=0), rel=1e-9)
    no_outliers = (fading_var, 0.0, 0.0, -math.inf)
    compact = censored_sum(level, variance[:, :1].copy(), missed, rows, tx, sens, *no_outliers, table)
    plain = scipy_log_ndtr(margin / np.sqrt(variance[missed, :1] + fading_var)).sum(axis=0)
    assert compact == pytest.approx(plain, rel=1e-9)


def test_compiling_ahead_leaves_the_fit_ready_for_its_first_phone() -> None:
    """In a fresh interpreter (here other tests have long compiled it): nothing compiled on import, and after
    compile_kernels locating phones compiles nothing more (a signature first met there, such as a read-only
    table, cost a second of compiling on a fresh install, or a cache load, on the first phone located)."""
    probe = (
        "from controller.level_fit import censored_sum, compile_kernels, heard_offsets, loglik_at, robust_fit\n"
        "from controller.level_fit import room_sums\n"
        "kernels = heard_offsets, robust_fit, loglik_at, censored_sum, room_sums\n"
        "assert not any(kernel.signatures for kernel in kernels), 'compiled on import'\n"
        "compile_kernels()\n"
        "print(*(len(kernel.signatures) for kernel in kernels))\n"
        "from tests.controller.test_locate import emission_from\n"
        "from cellward.site import load_site, small_site_path\n"
        "from cellward.site.propagation import PropagationModel\n"
        "from controller.locate import Locator\n"
        "site = load_site(small_site_path())\n"
        "model = PropagationModel(site)\n"
        "locator = Locator(site, model)\n"
        "for cell in site.cells[:4]:\n"
        "    locator.locate(emission_from(model, site, cell.centroid, -25.0))  # weak: most sensors miss it\n"
        "print(*(len(kernel.signatures) for kernel in kernels))\n"
    )
    compiled, after_locating = run_fresh(probe).splitlines()
    assert compiled.split() == ["1"] * 5
    assert after_locating == compiled, "locating compiled a signature compile_kernels had not"


def test_points_whose_power_stops_moving_keep_the_fit_every_round_would_give() -> None:
    """Rounds stop early for points whose power comes back unchanged (clipped, far from the phone): every point,
    clipped or not, gets the power and log-likelihood of all the rounds run on every point (numpy below)."""
    rng = np.random.default_rng(3)
    offset = rng.normal(0.0, 12.0, size=(9, 400)) + rng.uniform(-60.0, 80.0, size=400)
    w = np.full((9, 1), 1 / 20.0)
    w_out = 1.0 / (1.0 / w + 15.0**2)
    priors = math.log1p(-EPS), math.log(EPS)
    loglik, tx = robust_fit(offset, w, w_out, *priors, 3, -40.0, 33.0)
    want = np.clip((offset * w).sum(axis=0) / w.sum(), -40.0, 33.0)
    for _ in range(3):
        r = offset - want
        core = priors[0] + 0.5 * (np.log(w) - r * r * w)
        outlier = priors[1] + 0.5 * (np.log(w_out) - r * r * w_out)
        weight = w_out + (w - w_out) / (1.0 + np.exp(outlier - core))
        want = np.clip((offset * weight).sum(axis=0) / weight.sum(axis=0), -40.0, 33.0)
    assert ((tx == 33.0) | (tx == -40.0)).sum() > 100, "too few clipped points to test stopping early"
    assert tx == pytest.approx(want, abs=1e-9)
    assert loglik == pytest.approx([mixture_loglik(offset[:, p], w[:, 0], w_out[:, 0], want[p]) for p in range(400)])


def test_the_bound_on_the_fit_is_above_it_by_little_and_the_exact_fit_can_be_had_at_any_points() -> None:
    """Far points choose which to evaluate exactly: their bound is never below the exact log-likelihood and at most
    0.008 nats per sensor above it, at the same powers, and `loglik_at` gives the exact one at chosen points."""
    rng = np.random.default_rng(4)
    offset = rng.normal(0.0, 8.0, size=(12, 300)) + rng.uniform(-20.0, 40.0, size=300)
    w = rng.uniform(1 / 30.0, 1 / 10.0, size=(12, 1))
    w_out = 1.0 / (1.0 / w + 15.0**2)
    priors = math.log1p(-EPS), math.log(EPS)
    exact, tx = robust_fit(offset, w, w_out, *priors, 3, -40.0, 33.0, True)
    bound, same_tx = robust_fit(offset, w, w_out, *priors, 3, -40.0, 33.0, False)
    assert np.array_equal(tx, same_tx)
    assert (bound >= exact).all() and (bound - exact).max() <= 0.008 * 12
    rows = np.array([3, 17, 18, 250])
    assert np.array_equal(loglik_at(offset, w, w_out, *priors, tx, rows), exact[rows])
    w_survey = rng.uniform(1 / 30.0, 1 / 10.0, size=offset.shape)  # a calibration survey: a precision per point
    w_out = 1.0 / (1.0 / w_survey + 15.0**2)
    exact, tx = robust_fit(offset, w_survey, w_out, *priors, 3, -40.0, 33.0, True)
    assert np.array_equal(loglik_at(offset, w_survey, w_out, *priors, tx, rows), exact[rows])


@pytest.mark.parametrize("margin_db", [-400.0, -150.0, -5.0, 0.0, 3.0, 60.0, 1000.0])
def test_a_miss_costs_the_mixtures_log_probability_however_loud_the_phone_should_have_been(margin_db: float) -> None:
    """Far below the sensitivity (a plain tail), just at it, and so far above it that Phi(z) underflows (beyond
    the table, exact): the same log probability as scipy's log_ndtr gives, with and without outliers."""
    level, variance = np.array([[-100.0 - margin_db]]), np.array([[16.0]])
    index = np.zeros(1, dtype=np.int64)
    margin_args = (index, index, np.zeros(1), -100.0, 4.0, 225.0)
    z_core, z_wide = margin_db / math.sqrt(20.0), margin_db / math.sqrt(245.0)
    mixture = np.logaddexp(math.log1p(-EPS) + scipy_log_ndtr(z_core), math.log(EPS) + scipy_log_ndtr(z_wide))
    priors = math.log1p(-EPS), math.log(EPS)
    got = censored_sum(level, variance, *margin_args, *priors, censoring_table(16.0, 4.0, 225.0, *priors))
    assert got[0] == pytest.approx(mixture, rel=1e-9, abs=CENSOR_MAX_ERROR)
    plain_table = censoring_table(16.0, 4.0, 225.0, 0.0, -math.inf)
    plain = censored_sum(level, variance, *margin_args, 0.0, -math.inf, plain_table)
    assert plain[0] == pytest.approx(scipy_log_ndtr(z_core), rel=1e-9, abs=CENSOR_MAX_ERROR)


@pytest.mark.parametrize("exact", [True, False])
def test_precisions_given_once_per_sensor_fit_as_the_same_precisions_at_every_point(exact: bool) -> None:
    """A table without a survey holds one precision per sensor and the fit reads it in a loop of its own: the
    powers and the log-likelihood (or its bound) are those of the same precisions repeated at every point, bit for
    bit."""
    rng = np.random.default_rng(6)
    offset = rng.normal(0.0, 10.0, size=(7, 250)) + rng.uniform(-50.0, 60.0, size=250)
    w = rng.uniform(1 / 30.0, 1 / 10.0, size=(7, 1))
    w_out = 1.0 / (1.0 / w + 15.0**2)
    priors = math.log1p(-EPS), math.log(EPS)
    compact = robust_fit(offset, w, w_out, *priors, 3, -40.0, 33.0, exact)
    every = robust_fit(offset, np.repeat(w, 250, axis=1), np.repeat(w_out, 250, axis=1), *priors, 3, -40.0, 33.0, exact)
    assert np.array_equal(compact[1], every[1])
    assert np.array_equal(compact[0], every[0])


def test_a_point_held_at_the_clip_is_one_the_first_round_leaves_there() -> None:
    """Points whose plain mean is clipped but which the rounds might still pull back: the bound on the first round
    without its exponentials holds a point only when that round (numpy below) leaves it at the clip, never one
    it moves, and it holds most of those, including points whose pull past the clip is a hair's breadth."""
    from controller.level_fit import _held_at_clip, _mixture_terms

    rng = np.random.default_rng(8)
    sensors, points = 9, 4000
    centre = rng.choice([36.0, -44.0], size=points) + rng.normal(0.0, 4.0, size=points)
    offset = centre + rng.normal(0.0, 14.0, size=(sensors, points))
    w = rng.uniform(1 / 30.0, 1 / 10.0, size=(sensors, 1))
    w_out = 1.0 / (1.0 / w + 15.0**2)
    _, favour, spread = _mixture_terms(w, w_out, math.log1p(-EPS), math.log(EPS))
    tx = np.clip((offset * w).sum(axis=0) / w.sum(), -40.0, 33.0)
    moving = np.arange(points)
    held = _held_at_clip(offset, w_out[:, 0], favour[:, 0], spread[:, 0], tx, moving, -40.0, 33.0)
    r = offset - tx
    weight = w_out + spread / (1.0 + np.exp(0.5 * r * r * spread - favour))
    after = np.clip((offset * weight).sum(axis=0) / weight.sum(axis=0), -40.0, 33.0)
    stays = after == tx
    assert stays.sum() > 500 and (~stays).sum() > 500, "too few points on either side to test the bound"
    assert not (held & ~stays).any(), "held a point that the first round moves"
    assert held.sum() > 0.8 * stays.sum(), "the bound holds too few of the points the round leaves at the clip"
    # At a hair's breadth: a clip 1e-9 dB beyond where a round would leave the power unchanged (a fixed point of
    # the rounds), so that the first round pulls it back inside by that much: never held.
    for p in range(50):
        level, at = offset[:, p : p + 1], float(tx[p])
        for _ in range(200):
            r = level - at
            weight = w_out + spread / (1.0 + np.exp(0.5 * r * r * spread - favour))
            at = float((level * weight).sum() / weight.sum())
        beyond = at + 1e-9 if tx[p] == 33.0 else at - 1e-9
        limits = (-40.0, beyond) if tx[p] == 33.0 else (beyond, 33.0)
        one = np.zeros(1, dtype=np.int64)
        got = _held_at_clip(level, w_out[:, 0], favour[:, 0], spread[:, 0], np.array([beyond]), one, *limits)
        assert not got[0], f"held point {p} at {beyond} dBm, 1e-9 dB past where the rounds stop"


@pytest.mark.parametrize(
    ("spread_var", "fading_var", "outlier_var", "eps"),
    [
        (29.0, 19.1, 225.0, EPS),  # the locator's coarse spread with one burst's fading
        (20.0, 19.1, 225.0, EPS),  # its fine spread
        (16.0, 4.0, 225.0, 1e-4),  # rare outliers: a sharp crossover, more knots
        (16.0, 4.0, 225.0, 0.0),  # no outliers: log Phi itself
        (1.0, 0.0, 225.0, EPS),  # a narrow core
        (0.01, 0.0, 400.0, 0.3),  # an outlier spread 200 times the core's: the pieces end early
    ],
)
def test_the_censoring_table_is_within_its_bound_of_scipys_mixture_over_every_margin(
    spread_var: float, fading_var: float, outlier_var: float, eps: float
) -> None:
    """16 margins inside every piece, every knot, both ends of the pieces and 1e-9 dB either side of them, and
    margins far beyond them: within CENSOR_MAX_ERROR nats of the mixture written out with scipy's log_ndtr."""
    priors = math.log1p(-eps), math.log(eps) if eps > 0.0 else -math.inf
    table = censoring_table(spread_var, fading_var, outlier_var, *priors)
    pieces, step = table.coef.shape[0], 1.0 / table.inv_step
    assert pieces > 1000, "the table was given up"
    high = table.low_db + pieces * step
    inside = table.low_db + step * (np.arange(pieces)[:, None] + (np.arange(16) + 0.5) / 16)
    ends = [table.low_db + d for d in (-1e-9, 0.0, 1e-9)] + [high + d for d in (-1e-9, 0.0, 1e-9)]
    beyond = [table.low_db - 100.0, table.low_db * 3.0, high + 50.0, high * 3.0]
    margin = np.concatenate([inside.ravel(), table.low_db + step * np.arange(pieces + 1), ends, beyond])
    level = (-100.0 - margin)[None, :]  # sensitivity -100 dBm, transmit power 0 dBm
    points = np.arange(margin.size)
    one = np.zeros(1, dtype=np.int64)
    got = censored_sum(
        level, np.array([[spread_var]]), one, points, np.zeros(margin.size), -100.0, fading_var, outlier_var,
        *priors, table,
    )  # fmt: skip
    z_core = margin / math.sqrt(spread_var + fading_var)
    z_wide = margin / math.sqrt(spread_var + fading_var + outlier_var)
    want = np.logaddexp(priors[0] + scipy_log_ndtr(z_core), priors[1] + scipy_log_ndtr(z_wide))
    # beyond the pieces the exact function: as close to scipy as log_ndtr is
    excess = np.abs(got - want) - 1e-13 * np.abs(want)
    assert excess.max() <= CENSOR_MAX_ERROR, f"{excess.max():.2e} nats too far at margin {margin[excess.argmax()]} dB"


def test_the_rounds_exponential_is_within_1e_13_of_e_to_the_a_and_clamped_beyond_64() -> None:
    """The EM rounds' polynomial e^a against numpy's, at 2e5 a over [-64, 64] and its ends, as compiled alone and
    with its multiply-adds fused (as the rounds compile it); beyond them e^+-64."""
    from numba import njit

    from controller.level_fit import EXP_CLAMP, _exp_bounded

    @njit(fastmath={"contract"})
    def fused(a: np.ndarray) -> np.ndarray:
        out = np.empty_like(a)
        for i in range(a.shape[0]):
            out[i] = _exp_bounded(a[i])
        return out

    rng = np.random.default_rng(9)
    a = np.concatenate([np.linspace(-EXP_CLAMP, EXP_CLAMP, 100_001), rng.uniform(-EXP_CLAMP, EXP_CLAMP, 100_000)])
    for got in (np.array([_exp_bounded(float(x)) for x in a]), fused(a)):
        assert np.abs(got / np.exp(a) - 1.0).max() <= 1e-13
    for beyond, clamp in [(-1e300, -EXP_CLAMP), (-65.0, -EXP_CLAMP), (65.0, EXP_CLAMP), (math.inf, EXP_CLAMP)]:
        assert _exp_bounded(beyond) == _exp_bounded(clamp)
    assert math.isnan(_exp_bounded(math.nan))


def test_heard_offsets_are_each_heard_level_minus_its_sensors_row_bit_for_bit() -> None:
    from controller.level_fit import heard_offsets

    rng = np.random.default_rng(10)
    level = rng.uniform(-120.0, -40.0, size=(6, 50))
    heard, levels = np.array([4, 0, 2]), rng.uniform(-90.0, -50.0, size=3)
    assert np.array_equal(heard_offsets(level, heard, levels), levels[:, None] - level[heard])


def test_a_levels_log_mixture_is_within_2e_11_of_numpy_at_every_odds() -> None:
    """log(1 + e^-x), the mixture's term that the exact log-likelihood adds to the likelier component: from cubic
    pieces over [0, 40), checked at 4e5 x from 0 to beyond their end (exact there), the end and 1e-12 below it."""
    from controller.level_fit import SOFTPLUS_PIECES_END, _softplus

    x = np.concatenate(
        [
            np.linspace(0.0, SOFTPLUS_PIECES_END + 1.0, 400_001),
            [SOFTPLUS_PIECES_END - 1e-12, SOFTPLUS_PIECES_END, 800.0],
        ]
    )
    got = np.array([_softplus(float(v)) for v in x])
    assert np.abs(got - np.log1p(np.exp(-x))).max() <= 2e-11
    assert math.isnan(_softplus(math.nan))


def test_room_sums_are_numpys_per_room_sums_positions_and_first_likeliest_points() -> None:
    """Against numpy's segment reductions: rooms of one and of many points, a room whose points all have no weight
    (placed at its first point), ties for the likeliest point (the first wins), and a grid with no weight at all."""
    from controller.level_fit import room_sums

    rng = np.random.default_rng(11)
    starts = np.array([0, 1, 5, 6, 12])
    log_post = rng.normal(-20.0, 8.0, size=20)
    log_post[6:12] = -np.inf
    log_post[13] = log_post[15] = log_post[12:20].max() + 1.0
    points = rng.uniform(0.0, 30.0, size=(20, 3))
    log_room, position, best = room_sums(log_post, starts, points)
    weight = np.exp(log_post - log_post.max())
    mass = np.add.reduceat(weight, starts)
    with np.errstate(divide="ignore"):
        assert log_room == pytest.approx(np.log(mass) + log_post.max(), rel=1e-13)
    with np.errstate(invalid="ignore"):
        want = np.add.reduceat(weight[:, None] * points, starts) / mass[:, None]
    want[3] = points[6]
    assert position == pytest.approx(want, rel=1e-13)
    assert best.tolist() == [0, int(np.argmax(log_post[1:5])) + 1, 5, 6, 13]
    log_room, position, best = room_sums(np.full(20, -np.inf), starts, points)
    assert (log_room == -np.inf).all() and best.tolist() == starts.tolist()
    assert position[2] == pytest.approx(points[5]) and position[4] == pytest.approx(points[12:].mean(axis=0))
