"""Who was listening when a burst was heard, with scan groups, and what it does for the locator."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cellward.site import Site, load_site, reference_site_path, small_site_path
from cellward.site.propagation import PropagationModel, PropagationParams
from cellward.site.scan_groups import group_members, sensor_groups
from controller.correlate import HeardEmission
from controller.listening import ListeningSets
from controller.locate import Locator
from controller.location_bench import Building, Truth, heard_by, random_point_in_room
from controller.observations import Observation
from sensors.scan_plan import ScanConfig, ScanSchedule, SiteFocus

T = 1_795_000_000.0


@pytest.fixture(scope="module")
def small() -> Site:
    return load_site(small_site_path())


def _centre(tuning) -> float:
    return 0.5 * (tuning.low_hz + tuning.high_hz)


def test_one_group_means_everyone_listens(small: Site) -> None:
    sets = ListeningSets(small, ScanConfig(groups=1))
    tuning = sets.plan.regular_tuning(sets.plan.slot_at(T))
    assert sets.listening(T, _centre(tuning), frozenset({"A0-1"})) is None


def test_in_a_regular_slot_only_the_group_on_the_tuning_listened(small: Site) -> None:
    config = ScanConfig(groups=2)
    sets = ListeningSets(small, config)
    members = group_members(sensor_groups(small, 2))
    slot = sets.plan.slot_at(T)
    for group in (0, 1):
        tuning = ScanSchedule(sets.plan, config, group).tuning_for(slot, T)[0]
        heard = frozenset(sorted(members[group])[:1])
        assert sets.listening(T, _centre(tuning), heard) == members[group]
        # a sensor of the other group heard it too (it revisited on its own): its group counts as listening
        other = frozenset(sorted(members[1 - group])[:1])
        assert sets.listening(T, _centre(tuning), heard | other) is None
    idle = next(t for t in sets.plan.tunings if t not in {sets.plan.regular_tuning(slot, g, 2) for g in (0, 1)})
    assert sets.listening(T, _centre(idle), frozenset()) == frozenset(), "no group was on it"
    assert sets.listening(T, 2.6e9, frozenset({"A0-1"})) is None, "outside the plan: nothing assumed"


def test_in_a_revisit_slot_on_the_focus_every_group_listened(small: Site) -> None:
    config = ScanConfig(groups=2, revisit_every=4)
    revisit_slot = next(k for k in range(10**10, 10**10 + 8) if k % 8 == 6)  # the first of a pair
    at_s = revisit_slot * config.slot_s + 0.05
    focused = ListeningSets(small, config).plan.tunings[30]
    focus = SiteFocus((_centre(focused),), at_s + 10.0, 1)
    sets = ListeningSets(small, config, lambda _at: focus)
    members = group_members(sensor_groups(small, 2))
    assert sets.listening(at_s, _centre(focused), frozenset(sorted(members[0])[:1])) is None
    expired = ListeningSets(small, config, lambda _at: replace(focus, expires_s=at_s - 1.0))
    assert expired.listening(at_s, _centre(focused), frozenset(sorted(members[0])[:1])) == members[0]


def test_site_locating_hands_the_locator_who_listened() -> None:
    from controller.locating import SiteLocating

    site = load_site(small_site_path())
    asked: list[HeardEmission] = []

    def only_a0(emission: HeardEmission) -> frozenset[str]:
        asked.append(emission)
        return frozenset({"A0-1"})

    locating = SiteLocating(site, delay_s=0.0, listening=only_a0)
    told: list[frozenset[str] | None] = []
    locate = locating.locator.locate
    locating.locator.locate = lambda emission: told.append(emission.listening) or locate(emission)  # type: ignore[method-assign]
    obs = Observation("A0-1", 897.4e6, 200e3, "gsm", T, T + 546e-6, -60.0)
    sighting = locating._sighting(HeardEmission(897.4e6, 200e3, "gsm", T, T + 546e-6, (obs,)))
    assert [e.sensor_ids for e in asked] == [frozenset({"A0-1"})] and told == [frozenset({"A0-1"})]
    assert sighting.sensor_powers_dbm == {"A0-1": -60.0}


@pytest.mark.slow
def test_with_groups_the_wing_is_found_as_often_and_the_listening_set_is_what_keeps_it() -> None:
    """Phones in every 8th cell of the reference site, one GSM burst each, heard in a regular slot by one of
    four groups. Told who listened, the locator finds the wing as often as from every sensor; counting the
    other groups' sensors as deaf (no listening set) would lose it. The cell is found less often from a quarter
    of the sensors: revisit slots, where every group listens, give the located sightings all of them."""
    site = load_site(reference_site_path())
    locator = Locator(site, PropagationModel(site, PropagationParams()))
    building = Building(site, Truth("shared model", PropagationParams()), 0)
    members = list(group_members(sensor_groups(site, 4)).values())
    rng = np.random.default_rng(3)
    cells = site.cells[::8]
    positions = np.array([random_point_in_room(c, site.floor_height_m, rng) for c in cells])
    carrier = ("gsm", 897.4e6, 200e3)
    heard = building.emissions(positions, rng.uniform(0, 23, len(cells)), carrier, locator.sensitivity_dbm(200e3), rng)
    wing = {"every sensor": 0, "one group, told": 0, "one group, not told": 0}
    cell = dict.fromkeys(wing, 0)
    for i, (room, everyone) in enumerate(zip(cells, heard, strict=True)):
        group = heard_by(everyone, members[i % 4])
        assert everyone is not None and group is not None, "a phone in a cell is heard by a sensor of every group"
        for case, emission in (
            ("every sensor", everyone),
            ("one group, told", group),
            ("one group, not told", replace(group, listening=None)),
        ):
            found = locator.locate(emission)
            wing[case] += found.wing == room.wing
            cell[case] += found.cell_id == room.id
    print(f"\n{len(cells)} phones: wing right {wing}; cell right {cell}")
    assert wing["one group, told"] >= wing["every sensor"] - 1
    assert wing["one group, not told"] <= wing["one group, told"] - 0.1 * len(cells)
    assert cell["one group, told"] >= cell["one group, not told"] + 0.3 * len(cells)
