"""Propagation: multi-wall path loss, floors, shadowing correlation and received levels, against hand
computations."""

import math
from pathlib import Path

import numpy as np
import pytest

from cellward.site import load_site, reference_site_path
from cellward.site.propagation import (
    PropagationModel,
    PropagationParams,
    fading_db,
    free_space_loss_1m_db,
    outdoor_path_loss_db,
)
from tests.site.test_site_model import TWO_ROOMS, write

F900 = 900e6


@pytest.fixture
def model(tmp_path: Path) -> PropagationModel:
    return PropagationModel(load_site(write(tmp_path, TWO_ROOMS)))


def test_free_space_at_one_metre_is_the_textbook_value() -> None:
    assert free_space_loss_1m_db(F900) == pytest.approx(31.53, abs=0.01), "20 log10(4 pi f / c) at 900 MHz"


def test_through_one_shared_wall(model: PropagationModel) -> None:
    tx, rx = (2.0, 1.5, 1.5), (6.0, 1.5, 1.5)
    assert model.wall_and_floor_counts(tx, rx) == (1, 0)
    expected = free_space_loss_1m_db(F900) + 20 * math.log10(4.0) + 8.0  # n = 2, one brick wall at 900 MHz
    assert model.path_loss_db(tx, rx, F900) == pytest.approx(expected, abs=1e-9)


def test_material_loss_is_interpolated_in_log_frequency(model: PropagationModel) -> None:
    tx, rx = (2.0, 1.5, 1.5), (6.0, 1.5, 1.5)
    share = math.log(800 / 700) / math.log(900 / 700)
    wall = 7.0 + share * (8.0 - 7.0)
    expected = free_space_loss_1m_db(800e6) + 20 * math.log10(4.0) + wall
    assert model.path_loss_db(tx, rx, 800e6) == pytest.approx(expected, abs=1e-9)


def test_floors_use_the_cost231_nonlinear_term(model: PropagationModel) -> None:
    tx, above = (2.0, 1.5, 1.5), (2.0, 1.5, 4.5)
    assert model.wall_and_floor_counts(tx, above) == (0, 1)
    expected = free_space_loss_1m_db(F900) + 20 * math.log10(3.0) + 17.0 * 1 ** (3 / 2 - 0.46)
    assert model.path_loss_db(tx, above, F900) == pytest.approx(expected, abs=1e-9)
    two_up = (2.0, 1.5, 7.5)
    expected_two = free_space_loss_1m_db(F900) + 20 * math.log10(6.0) + 17.0 * 2 ** (4 / 3 - 0.46)
    assert model.path_loss_db(tx, two_up, F900) == pytest.approx(expected_two, abs=1e-9)


def test_a_wall_counts_only_on_its_own_landing(model: PropagationModel) -> None:
    # from A-1-01 (landing 1) to a point above A-0-02 (no room there): the A-1-01 wall at x = 4 is crossed
    assert model.wall_and_floor_counts((2.0, 1.5, 4.5), (6.0, 1.5, 4.5)) == (1, 0)
    # the perimeter wall stands on the ground only: a path at landing 1 height over it does not cross it
    assert model.wall_and_floor_counts((2.0, 1.5, 1.5), (2.0, -30.0, 1.5))[0] == 2  # cell wall + perimeter
    assert model.wall_and_floor_counts((2.0, 1.5, 4.5), (2.0, -30.0, 4.5))[0] == 1  # cell wall on landing 1


def test_received_power_adds_antenna_gain_and_subtracts_cable_loss(model: PropagationModel) -> None:
    sensor = model.site.sensor("s1")
    tx = (2.0, 1.5, 1.5)
    expected = 20.0 - model.path_loss_db(tx, sensor.position, F900) + 3.0 + 2.0 - 1.0
    assert model.received_power_dbm(20.0, tx, sensor, F900, shadowing_db=3.0) == pytest.approx(expected)


def test_shadowing_is_deterministic_and_spatially_correlated(model: PropagationModel) -> None:
    a = (1.0, 1.0, 1.5)
    assert model.shadowing_db(a, "s1", 7) == model.shadowing_db(a, "s1", 7)
    assert model.shadowing_db(a, "s1", 7) != model.shadowing_db(a, "s1", 8)
    decorrelation = model.params.decorrelation_m
    for distance in (1.0, 5.0, 15.0):
        b = (1.0 + distance, 1.0, 1.5)
        pairs = np.array([[model.shadowing_db(a, f"s{k}", 1), model.shadowing_db(b, f"s{k}", 1)] for k in range(600)])
        measured = np.corrcoef(pairs.T)[0, 1]
        assert measured == pytest.approx(math.exp(-distance / decorrelation), abs=0.1), (
            f"Gudmundson correlation exp(-d/{decorrelation}) at {distance} m"
        )
        assert pairs.std() == pytest.approx(model.params.sigma_db, rel=0.15)


def test_rician_fading_keeps_the_mean_power() -> None:
    draws = fading_db(np.random.default_rng(1), 200_000, 3.0)
    assert np.mean(10 ** (draws / 10)) == pytest.approx(1.0, abs=0.01)
    assert 1.0 < np.std(draws) < 6.0


def test_outdoor_loss_is_okumura_hata_at_900_mhz_1_km() -> None:
    # 69.55 + 26.16 log f - 13.82 log 30 - a(1.5 m) + 0 (log 1 km)
    a_hm = (1.1 * math.log10(900) - 0.7) * 1.5 - (1.56 * math.log10(900) - 0.8)
    expected = 69.55 + 26.16 * math.log10(900) - 13.82 * math.log10(30) - a_hm
    assert outdoor_path_loss_db(1000.0, F900) == pytest.approx(expected, abs=1e-6)
    far, near = outdoor_path_loss_db(5000.0, 1800e6), outdoor_path_loss_db(1000.0, 1800e6)
    assert far > near > outdoor_path_loss_db(1000.0, F900)


def test_model_mismatch_parameters_change_the_loss(model: PropagationModel) -> None:
    tx, rx = (2.0, 1.5, 1.5), (6.0, 1.5, 1.5)
    heavier = PropagationModel(model.site, PropagationParams(wall_loss_offset_db=4.0, exponent=2.5))
    expected = model.path_loss_db(tx, rx, F900) + 4.0 + 5 * math.log10(4.0)
    assert heavier.path_loss_db(tx, rx, F900) == pytest.approx(expected)


def test_the_reference_site_gain_table_covers_every_cell_and_sensor() -> None:
    site = load_site(reference_site_path())
    model = PropagationModel(site)
    cells = np.array([c.centroid for c in site.cells])
    table = model.gain_table_db(cells, site.sensors, F900)
    assert table.shape == (len(site.cells), len(site.sensors))
    assert np.isfinite(table).all()
    # each cell's strongest sensor is in its own wing (walls and distance separate the wings)
    strongest = [site.sensors[j].id for j in table.argmax(axis=1)]
    own_wing = sum(s.startswith(f"s-{c.wing}") for s, c in zip(strongest, site.cells, strict=True))
    assert own_wing / len(site.cells) > 0.95
