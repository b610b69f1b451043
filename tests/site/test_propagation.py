"""Multi-wall path loss, received power and outdoor loss against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cellward.site import Site
from cellward.site.geometry import RUN_SEGMENTS, wall_crossings
from cellward.site.propagation import PropagationModel, PropagationParams, outdoor_path_loss_db

C = 299_792_458.0


def free_space_1m_db(freq_hz: float) -> float:
    return 20 * math.log10(4 * math.pi * freq_hz / C)


# A phone in cell A-0-01 (x 6..8.4, y 1.5..5.1, landing 0) and sensor A1-1 on landing 1's corridor ceiling.
# In plan the path leaves the cell through the partition at x = 8.4 (y = 2.205, z = 1.91, landing 0 cell_wall)
# and the corridor wall y = 1.5 (x = 9.64, z = 2.71, landing 0 cell_front), and passes z = 3 m (the landing-1
# slab) at (10.08, 1.25), inside the wing's slab. Nothing on landing 1 lies in its way.
PHONE = (7.0, 3.0, 1.0)
SENSOR_A1_1 = (14.4, -1.2, 5.8)


def test_path_through_two_walls_and_one_floor_matches_the_hand_sum(small_site: Site) -> None:
    model = PropagationModel(small_site)
    terms = model.path_loss_terms(PHONE, SENSOR_A1_1, 900e6)
    distance = math.sqrt(7.4**2 + 4.2**2 + 4.8**2)  # 9.769 m
    # 31.53 dB free space at 1 m + 19.80 dB for 9.77 m + cell_wall 7.8 + cell_front 6.6 + rc_floor 15.0
    expected = free_space_1m_db(900e6) + 20 * math.log10(distance) + 7.8 + 6.6 + 15.0
    assert (terms.walls, terms.floors) == (2, 1)
    assert model.wall_and_floor_counts(PHONE, SENSOR_A1_1) == (2, 1)
    assert terms.distance_m == pytest.approx(distance)
    assert model.path_loss_db(PHONE, SENSOR_A1_1, 900e6) == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(80.73, abs=0.01)


def test_loss_grows_with_frequency_by_free_space_and_the_materials(small_site: Site) -> None:
    model = PropagationModel(small_site)
    low, high = model.path_loss_db(PHONE, SENSOR_A1_1, 900e6), model.path_loss_db(PHONE, SENSOR_A1_1, 1800e6)
    # 20 log10(2) = 6.02 dB more free-space loss; walls 10.5 + 8.5 instead of 7.8 + 6.6; slab 18.3 instead of 15.0
    assert high - low == pytest.approx(20 * math.log10(2) + (10.5 - 7.8) + (8.5 - 6.6) + (18.3 - 15.0), abs=1e-9)


def test_two_floors_cost_less_than_twice_one_by_the_cost231_floor_term(reference_site: Site) -> None:
    model = PropagationModel(reference_site)
    x, y, _ = reference_site.room("A-0-05").centroid
    terms = model.path_loss_terms((x, y, 1.5), (x, y, 7.5), 900e6)
    # Straight up through two rc_floor slabs (15 dB each): 15 * 2^((2+2)/(2+1) - 0.46) = 27.48 dB, not 30
    assert (terms.walls, terms.floors) == (0, 2)
    assert terms.floor_loss_db == pytest.approx(15.0 * 2 ** (4 / 3 - 0.46))
    assert terms.total_db == pytest.approx(free_space_1m_db(900e6) + 20 * math.log10(6.0) + 27.4784, abs=1e-3)


def test_a_path_along_the_corridor_crosses_no_wall(small_site: Site) -> None:
    model = PropagationModel(small_site)
    assert model.wall_and_floor_counts((7.0, 0.5, 1.5), (15.0, -0.5, 2.8)) == (0, 0)


def test_walls_of_another_landing_do_not_count(small_site: Site) -> None:
    model = PropagationModel(small_site)
    # Cell A-1-01 to cell A-1-03 (landing 1): two partitions on landing 1; landing 0's partitions lie below.
    assert model.wall_and_floor_counts((7.2, 3.3, 4.5), (12.0, 3.3, 4.5)) == (2, 0)


def test_received_power_is_tx_minus_loss_plus_gain_minus_cable_plus_calibration(small_site: Site) -> None:
    model = PropagationModel(small_site)
    sensor = small_site.sensor("A1-1").model_copy(
        update={"antenna_gain_dbi": 3.0, "cable_loss_db": 1.5, "calibration_offset_db": -0.7}
    )
    loss = model.path_loss_db(PHONE, sensor.position, 900e6)
    received = model.received_power_dbm(23.0, PHONE, sensor, 900e6, shadowing_db=2.5)
    assert received == pytest.approx(23.0 - (loss + 2.5) + 3.0 - 1.5 - 0.7)
    assert model.received_power_dbm(23.0, PHONE, "A1-1", 900e6) == pytest.approx(23.0 - loss + 2.0 - 1.0 + 0.0)


def test_received_power_for_an_unknown_sensor_names_it(small_site: Site) -> None:
    with pytest.raises(KeyError, match="ZZ-9"):
        PropagationModel(small_site).received_power_dbm(23.0, PHONE, "ZZ-9", 900e6)


def test_vectorised_loss_equals_the_one_at_a_time_loss(small_site: Site) -> None:
    model = PropagationModel(small_site)
    points = np.array([c.centroid for c in small_site.cells])
    rx = small_site.sensor("HUB0").position
    many = model.path_loss_db_many(points, rx, 1747e6)
    one = [model.path_loss_db(p, rx, 1747e6) for p in points]
    assert many == pytest.approx(one)
    table = model.path_loss_table_db(points, 1747e6)
    assert table.shape == (16, len(small_site.sensors))
    assert table[:, [s.id for s in small_site.sensors].index("HUB0")] == pytest.approx(many)


def test_parameters_change_the_model_for_a_mismatched_locator(small_site: Site) -> None:
    truth = PropagationModel(small_site)
    other = PropagationModel(small_site, PropagationParams(path_loss_exponent=3.0, wall_loss_scale=1.2))
    distance = math.sqrt(7.4**2 + 4.2**2 + 4.8**2)
    difference = other.path_loss_db(PHONE, SENSOR_A1_1, 900e6) - truth.path_loss_db(PHONE, SENSOR_A1_1, 900e6)
    # exponent 3 adds 10 log10(d) and the walls' 14.4 dB grows by 20 %
    assert difference == pytest.approx(10 * math.log10(distance) + 0.2 * 14.4)


def test_penetration_loss_is_capped_where_energy_would_go_round(small_site: Site) -> None:
    model = PropagationModel(small_site, PropagationParams(max_penetration_loss_db=20.0))
    terms = model.path_loss_terms(PHONE, SENSOR_A1_1, 900e6)
    assert terms.wall_loss_db + terms.floor_loss_db == pytest.approx(20.0), "14.4 + 15.0 dB capped at 20 dB"
    assert terms.wall_loss_db / terms.floor_loss_db == pytest.approx(14.4 / 15.0), "both parts keep their share"


def test_distances_inside_the_near_field_are_clamped(small_site: Site) -> None:
    model = PropagationModel(small_site)
    assert model.path_loss_db((9.0, 0.0, 1.0), (9.0, 0.0, 1.0), 900e6) == pytest.approx(
        free_space_1m_db(900e6) + 20 * math.log10(0.5)
    )


def test_path_loss_table_covers_every_reference_cell_and_sensor(reference_site: Site) -> None:
    model = PropagationModel(reference_site)
    cells = np.array([c.centroid for c in reference_site.cells])
    table = model.path_loss_table_db(cells, 900e6)
    assert table.shape == (480, len(reference_site.sensors))
    assert np.isfinite(table).all()
    assert table.max() <= free_space_1m_db(900e6) + 20 * math.log10(300) + 80.0 + 1e-9, "capped penetration"
    # Default density: every cell reaches three sensors within 95 dB at 900 MHz, so even a phone power-controlled
    # down to 0 dBm arrives above -95 dBm (+1 dB net antenna gain) at three sensors, 13 dB over an RTL-SDR's
    # -108 dBm GSM detection level (-121 dBm thermal in 200 kHz + 7 dB NF + 6 dB SNR).
    third_best = np.sort(table, axis=1)[:, 2]
    worst = reference_site.cells[int(np.argmax(third_best))].id
    assert third_best.max() <= 95.0, f"cell {worst}: third-nearest sensor at {third_best.max():.1f} dB"


def test_hata_matches_the_formula_by_hand() -> None:
    # 900 MHz, 1 km, base 30 m, phone 1.5 m, urban Okumura-Hata:
    lf, lhb = math.log10(900), math.log10(30)
    a_hm = (1.1 * lf - 0.7) * 1.5 - (1.56 * lf - 0.8)  # 0.016 dB
    urban = 69.55 + 26.16 * lf - 13.82 * lhb - a_hm  # log10(1 km) = 0
    assert urban == pytest.approx(126.40, abs=0.01)
    assert outdoor_path_loss_db(1000, 900e6, environment="urban") == pytest.approx(urban)
    assert outdoor_path_loss_db(1000, 900e6) == pytest.approx(urban - 2 * math.log10(900 / 28) ** 2 - 5.4)
    # 1800 MHz, 2 km: COST-231 Hata (Cm = 0)
    lf = math.log10(1800)
    a_hm = (1.1 * lf - 0.7) * 1.5 - (1.56 * lf - 0.8)
    cost = 46.3 + 33.9 * lf - 13.82 * lhb - a_hm + (44.9 - 6.55 * lhb) * math.log10(2)
    assert outdoor_path_loss_db(2000, 1800e6, environment="urban") == pytest.approx(cost)


def test_hata_loss_rises_with_distance_and_falls_from_urban_to_rural() -> None:
    losses = [outdoor_path_loss_db(d, 800e6) for d in (500, 1000, 3000, 10000)]
    assert losses == sorted(losses)
    urban, suburban, rural = (outdoor_path_loss_db(2000, 800e6, environment=e) for e in ("urban", "suburban", "rural"))
    assert urban > suburban > rural


def test_hata_refuses_nonsense_inputs() -> None:
    with pytest.raises(ValueError, match="positive"):
        outdoor_path_loss_db(0, 900e6)


def test_serving_cell_loss_adds_building_entry_for_indoor_phones(small_site: Site) -> None:
    model = PropagationModel(small_site, PropagationParams(building_entry_loss_db=18.0))
    outdoor = outdoor_path_loss_db(1500, 800e6)
    assert model.serving_cell_path_loss_db(1500, 800e6) == pytest.approx(outdoor + 18.0)
    assert model.serving_cell_path_loss_db(1500, 800e6, indoors=False) == pytest.approx(outdoor)


def test_truth_walls_can_deviate_from_their_material_by_a_fixed_seeded_amount(small_site: Site) -> None:
    nominal = PropagationModel(small_site).path_loss_db(PHONE, SENSOR_A1_1, 900e6)
    varied = PropagationParams(wall_variation_db=3.0, variation_seed=11)
    first = PropagationModel(small_site, varied).path_loss_db(PHONE, SENSOR_A1_1, 900e6)
    again = PropagationModel(small_site, varied).path_loss_db(PHONE, SENSOR_A1_1, 900e6)
    other = PropagationModel(small_site, varied.model_copy(update={"variation_seed": 12}))
    assert first == again != nominal, "the two crossed walls move by a fixed, seeded amount"
    assert other.path_loss_db(PHONE, SENSOR_A1_1, 900e6) != first
    assert abs(first - nominal) < 6 * 3.0 * math.sqrt(2), "two walls of 3 dB spread each"


def test_offsets_add_to_every_wall_and_to_one_material(small_site: Site) -> None:
    base = PropagationModel(small_site).path_loss_db(PHONE, SENSOR_A1_1, 900e6)
    every_wall = PropagationModel(small_site, PropagationParams(wall_loss_offset_db=1.5))
    assert every_wall.path_loss_db(PHONE, SENSOR_A1_1, 900e6) == pytest.approx(base + 2 * 1.5), "two walls"
    slab = PropagationModel(small_site, PropagationParams(material_offset_db={"rc_floor": 4.0}))
    assert slab.path_loss_db(PHONE, SENSOR_A1_1, 900e6) == pytest.approx(base + 4.0), "one rc_floor slab"


def test_gain_table_is_the_sensor_chain_minus_the_path_loss(small_site: Site) -> None:
    model = PropagationModel(small_site)
    points = np.array([c.centroid for c in small_site.cells])
    sensors = small_site.sensors[:2]
    gain = model.gain_table_db(points, sensors, 900e6)
    expected = np.column_stack(
        [model.sensor_gain_db(s) - model.path_loss_db_many(points, s.position, 900e6) for s in sensors]
    )
    assert gain == pytest.approx(expected)
    assert model.received_power_table_dbm(23.0, points, 900e6)[:, :2] == pytest.approx(23.0 + expected)


def test_parameter_aliases_read_the_canonical_fields() -> None:
    params = PropagationParams(path_loss_exponent=2.2, shadowing_sigma_db=5.0, fading_k_db=None)
    assert (params.exponent, params.sigma_db, params.rician_k_db) == (2.2, 5.0, None)


def test_parameters_refuse_unknown_names_and_bad_values() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="sigma"):
        PropagationParams(sigma=3.0)
    with pytest.raises(ValidationError, match="decorrelation_m"):
        PropagationParams(decorrelation_m=0.0)


def _walls_crossed_one_by_one(a, b, walls: np.ndarray, wall_z: np.ndarray) -> list[int]:
    """The kernel's rule, wall by wall: plan views cross strictly inside the segment, within the wall's height."""
    crossed = []
    r = np.subtract(b, a)
    for w, ((qx, qy, ex, ey), (bottom, top)) in enumerate(zip(walls, wall_z, strict=True)):
        s = (ex - qx, ey - qy)
        denom = r[0] * s[1] - r[1] * s[0]
        if denom == 0.0:
            continue
        dx, dy = qx - a[0], qy - a[1]
        t, u = (dx * s[1] - dy * s[0]) / denom, (dx * r[1] - dy * r[0]) / denom
        if 1e-9 < t < 1.0 - 1e-9 and 0.0 <= u <= 1.0 and bottom <= a[2] + t * r[2] < top:
            crossed.append(w)
    return crossed


def test_each_run_of_segments_tests_the_walls_near_it_and_finds_every_crossing(reference_site: Site) -> None:
    """The kernel tests each run of segments to one receiver (and of at most RUN_SEGMENTS) only against the walls
    in the box around the run. A room's points to a sensor across the site and to one in the room's own wing, in
    runs and shuffled, must cross exactly the walls a test of each finds."""
    geometry = reference_site.geometry
    losses = np.arange(1.0, len(geometry.wall_segments) + 1.0)
    rng = np.random.default_rng(5)
    room = reference_site.rooms[40]
    xy = np.asarray(room.polygon, float)
    n = RUN_SEGMENTS + 40
    points = np.column_stack(
        [
            rng.uniform(xy[:, 0].min(), xy[:, 0].max(), n),
            rng.uniform(xy[:, 1].min(), xy[:, 1].max(), n),
            np.full(n, room.landing * 3.0 + 1.2),
        ]
    )
    receivers = [reference_site.sensors[0].position, reference_site.sensors[-1].position]
    a = np.concatenate([points, points])
    b = np.repeat(np.asarray(receivers, float), n, axis=0)
    shuffled = rng.permutation(len(a))
    crossed = 0
    for order in (np.arange(len(a)), shuffled):
        count, loss = wall_crossings(a[order], b[order], geometry.wall_segments, geometry.wall_z, losses)
        for k, row in enumerate(order):
            walls = _walls_crossed_one_by_one(a[row], b[row], geometry.wall_segments, geometry.wall_z)
            assert count[k] == len(walls) and loss[k] == sum(losses[walls])
            crossed += len(walls)
    assert crossed > 200, "the paths cross walls, so the comparison has something to compare"


def test_a_table_to_every_sensor_equals_each_sensor_on_its_own(reference_site: Site) -> None:
    model = PropagationModel(reference_site)
    points = np.array([[10.0, 5.0, 1.2], [-30.0, 12.0, 4.0], [60.0, -40.0, 7.5]])
    table = model.path_loss_table_db(points, 1747e6)
    for j, sensor in enumerate(reference_site.sensors):
        assert np.array_equal(table[:, j], model.path_loss_db_many(points, sensor.position, 1747e6))
