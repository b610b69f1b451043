"""Reports to sightings: a phone's bursts heard by the same sensors are averaged before it is located again."""

from __future__ import annotations

import numpy as np
import pytest

from cellward.site import load_site, small_site_path
from cellward.site.propagation import PropagationModel, PropagationParams
from controller.correlate import Correlator, Emissions, HeardEmission
from controller.locate import Locator
from controller.locating import averaged
from controller.location_bench import Building, Truth, random_point_in_room
from controller.observations import Observation

CORRELATOR = Correlator()  # one for all: sensor codes must mean the same in every emission averaged


def columns(heard: HeardEmission) -> Emissions:
    """One emission as the correlator hands it out."""
    CORRELATOR.add_many(heard.observations)
    flushed = CORRELATOR.flush()
    assert len(flushed) == 1, "one emission's observations are grouped as one"
    return flushed


def emission(levels: dict[str, float], start_s: float, bursts: int = 1) -> Emissions:
    observations = tuple(
        Observation(sensor, 897.4e6, 200e3, "gsm", start_s, start_s + 546e-6, level, bursts)
        for sensor, level in levels.items()
    )
    return columns(HeardEmission(897.4e6, 200e3, "gsm", start_s, start_s + 546e-6, observations))


def test_averaged_levels_are_the_burst_weighted_mean_per_sensor():
    merged = averaged([emission({"a": -60.0, "b": -80.0}, 1.0), emission({"a": -64.0, "b": -70.0}, 2.0, bursts=3)])
    assert merged.powers_dbm == pytest.approx({"a": -63.0, "b": -72.5})
    assert [o.bursts for o in merged.observations] == [4, 4]
    assert merged.start_s == 1.0 and merged.end_s == pytest.approx(2.0 + 546e-6)


def test_a_phone_located_from_its_averaged_bursts_is_placed_better_than_from_one():
    """Small site, shared model, the model's shadowing and Rician fading: 20 bursts of each phone (the same
    place, so the same shadowing) averaged against the first burst alone, 4 phones per cell x 3 buildings."""
    site = load_site(small_site_path())
    locator = Locator(site, PropagationModel(site, PropagationParams()))
    rng = np.random.default_rng(3)
    right = {"one": 0, "averaged": 0}
    trials = 0
    for seed in range(3):
        building = Building(site, Truth("shared", PropagationParams()), seed)
        for cell in site.cells * 4:
            position = np.array([random_point_in_room(cell, site.floor_height_m, rng)])
            tx = np.array([rng.uniform(0.0, 23.0)])
            bursts = [
                building.emissions(position, tx, ("gsm", 897.4e6, 200e3), locator.sensitivity_dbm(200e3), rng)[0]
                for _ in range(20)
            ]
            heard = [b for b in bursts if b is not None and b.sensor_ids == bursts[0].sensor_ids] if bursts[0] else []
            if not heard:
                continue
            trials += 1
            right["one"] += locator.locate(heard[0]).cell_id == cell.id
            right["averaged"] += locator.locate(averaged([columns(h) for h in heard])).cell_id == cell.id
    assert trials >= 0.9 * 3 * 4 * len(site.cells)
    assert right["averaged"] >= right["one"] + 0.03 * trials, f"{right} of {trials}"


def _heard_by(reports: dict[str, float]) -> list[dict[str, float]]:
    """Sightings' sensor levels when each sensor reports one GSM burst with the given clipped fraction."""
    from cellward.messages import DetectionBatch
    from controller.locating import SiteLocating
    from tests.contract.examples import report

    locating = SiteLocating(load_site(small_site_path()), delay_s=0.0)
    for sensor_id, clipped in reports.items():
        batch = DetectionBatch.model_construct(reports=[report(1, 1).model_copy(update={"clipped_fraction": clipped})])
        locating.add_reports(sensor_id, batch, 0.0)
    return [s.sensor_powers_dbm for s in locating.ready(1e10)]


def test_a_clipped_sensors_report_is_neither_located_nor_an_emission():
    """A dwell in compression reads a nearby phone too low and reports intermodulation as bursts."""
    assert [set(p) for p in _heard_by({"A0-1": 0.0, "A1-1": 0.0})] == [{"A0-1", "A1-1"}]
    assert [set(p) for p in _heard_by({"A0-1": 0.0, "A1-1": 0.02})] == [{"A0-1"}], "the clipped sensor is left out"
    assert _heard_by({"A1-1": 0.02}) == [], "nothing but a clipped report: no sighting"
