"""The locator's compiled robust fit of a phone's transmit power to the levels it was heard at."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from controller.level_fit import robust_fit

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


def test_compiling_ahead_leaves_the_fit_ready_for_its_first_phone() -> None:
    """In a fresh interpreter (here other tests have long compiled it): nothing compiled on import, the
    locator's signature compiled by compile_kernels."""
    probe = (
        "from controller.level_fit import compile_kernels, robust_fit\n"
        "assert not robust_fit.signatures, 'compiled on import'\n"
        "compile_kernels()\n"
        "print(len(robust_fit.signatures))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == 1
