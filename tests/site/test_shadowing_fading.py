"""Shadowing: log-normal, Gudmundson exponential spatial correlation, fixed by its seed. Fading: Rician."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cellward.site import Site
from cellward.site.fading import fading_db
from cellward.site.propagation import PropagationModel, PropagationParams

SEEDS = range(30)


def _base_points(rng: np.random.Generator) -> np.ndarray:
    """Points 12 m apart over the small site's ground floor (4 decorrelation distances: nearly independent)."""
    xs, ys = np.meshgrid(np.arange(-40.0, 50.0, 12.0), np.arange(-35.0, 25.0, 12.0))
    jitter = rng.uniform(-1.0, 1.0, (xs.size, 2))
    return np.column_stack([xs.ravel() + jitter[:, 0], ys.ravel() + jitter[:, 1], np.full(xs.size, 1.2)])


def _pairs(model: PropagationModel, distance_m: float, sensor: str = "A0-1") -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    first, second = [], []
    for seed in SEEDS:
        a = _base_points(rng)
        angle = rng.uniform(0, 2 * math.pi, len(a))
        b = a + distance_m * np.column_stack([np.cos(angle), np.sin(angle), np.zeros(len(a))])
        first.append(model.shadowing_db_many(a, sensor, seed))
        second.append(model.shadowing_db_many(b, sensor, seed))
    return np.concatenate(first), np.concatenate(second)


@pytest.mark.parametrize("distance_m", [1.0, 3.0, 6.0])
def test_shadowing_correlation_decays_as_exp_minus_d_over_dcorr(small_site: Site, distance_m: float) -> None:
    model = PropagationModel(small_site)  # d_corr = 3 m
    a, b = _pairs(model, distance_m)
    measured = float(np.corrcoef(a, b)[0, 1])
    expected = math.exp(-distance_m / 3.0)
    # ~1600 pairs: the estimate's standard error is about (1 - rho^2) / sqrt(n) <= 0.025; allow 3 of them.
    assert measured == pytest.approx(expected, abs=0.075), (
        f"corr at {distance_m} m: {measured:.3f}, model {expected:.3f}"
    )


def test_shadowing_has_the_configured_spread_and_zero_mean(small_site: Site) -> None:
    model = PropagationModel(small_site, PropagationParams(shadowing_sigma_db=6.0))
    a, _ = _pairs(model, 1.0)
    assert float(np.std(a)) == pytest.approx(6.0, rel=0.08), f"sigma {np.std(a):.2f} dB for 6 dB configured"
    assert abs(float(np.mean(a))) < 0.6, f"mean {np.mean(a):.2f} dB"


def test_shadowing_is_fixed_by_seed_and_differs_between_seeds(small_site: Site) -> None:
    points = _base_points(np.random.default_rng(1))
    first = PropagationModel(small_site).shadowing_db_many(points, "A0-1", seed=42)
    again = PropagationModel(small_site).shadowing_db_many(points, "A0-1", seed=42)  # a fresh model, no cache
    other = PropagationModel(small_site).shadowing_db_many(points, "A0-1", seed=43)
    assert np.array_equal(first, again)
    assert abs(float(np.corrcoef(first, other)[0, 1])) < 0.4
    assert PropagationModel(small_site).shadowing_db((7.0, 3.0, 1.0), "A0-1", 42) == pytest.approx(
        PropagationModel(small_site).shadowing_db_many(np.array([[7.0, 3.0, 1.0]]), "A0-1", 42)[0]
    )


def test_shadowing_is_independent_between_sensors_and_between_landings(small_site: Site) -> None:
    model = PropagationModel(small_site)
    ground, other_sensor, upstairs = [], [], []
    for seed in SEEDS:
        points = _base_points(np.random.default_rng(seed))
        ground.append(model.shadowing_db_many(points, "A0-1", seed))
        other_sensor.append(model.shadowing_db_many(points, "HUB0", seed))
        upstairs.append(model.shadowing_db_many(points + np.array([0.0, 0.0, 3.0]), "A0-1", seed))
    ground = np.concatenate(ground)
    assert abs(float(np.corrcoef(ground, np.concatenate(other_sensor))[0, 1])) < 0.1
    assert abs(float(np.corrcoef(ground, np.concatenate(upstairs))[0, 1])) < 0.1


def test_shadowing_can_be_switched_off(small_site: Site) -> None:
    model = PropagationModel(small_site, PropagationParams(shadowing_sigma_db=0.0))
    assert model.shadowing_db((7.0, 3.0, 1.0), "A0-1", 1) == 0.0


def test_shadowed_table_subtracts_each_sensors_shadowing(small_site: Site) -> None:
    model = PropagationModel(small_site)
    points = np.array([c.centroid for c in small_site.cells])
    plain = model.received_power_table_dbm(20.0, points, 900e6)
    shadowed = model.received_power_table_dbm(20.0, points, 900e6, seed=5)
    for j, sensor in enumerate(small_site.sensors):
        assert plain[:, j] - shadowed[:, j] == pytest.approx(model.shadowing_db_many(points, sensor.id, 5))


def test_rayleigh_fading_has_unit_mean_power_and_the_exponential_spread() -> None:
    draws = fading_db(np.random.default_rng(3), 200_000, None)
    linear = 10 ** (draws / 10)
    assert float(linear.mean()) == pytest.approx(1.0, abs=0.01)
    # |h|^2 exponential: P(power < 0.1) = 1 - exp(-0.1) = 9.5 % (a 10 dB fade)
    assert float((linear < 0.1).mean()) == pytest.approx(1 - math.exp(-0.1), abs=0.005)


def test_strong_line_of_sight_and_wide_bandwidth_both_reduce_fading() -> None:
    rng = np.random.default_rng(4)
    rayleigh = np.std(fading_db(rng, 50_000, None))
    rician = np.std(fading_db(rng, 50_000, 10.0))
    wideband = np.std(fading_db(rng, 50_000, None, bandwidth_hz=20e6, coherence_bandwidth_hz=5e6))
    assert rician < 0.5 * rayleigh, f"K = 10 dB: {rician:.2f} dB against Rayleigh {rayleigh:.2f} dB"
    assert wideband < 0.6 * rayleigh, f"4 branches: {wideband:.2f} dB against {rayleigh:.2f} dB"
    assert fading_db(rng, (3, 5), 3.0).shape == (3, 5)
