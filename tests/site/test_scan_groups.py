"""Scan groups from the site model: interleaved per landing, written groups honoured, G tunings at once."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import pytest

from cellward.site import Site
from cellward.site.scan_groups import group_members, sensor_groups
from dsp.band_plan import BandPlan
from sensors.scan_plan import ScanConfig, ScanPlan, ScanSchedule
from sensors.sources.rtlsdr import RTLSDR_RANGE_HZ


def _landing_neighbours(site: Site) -> list[tuple[str, str]]:
    """Internal sensors of one wing landing that are next to each other along it (ids A0-1, A0-2, ...)."""
    pairs = []
    for sensor in site.sensors:
        wing_landing, _, number = sensor.id.partition("-")
        if number.isdigit() and f"{wing_landing}-{int(number) + 1}" in {s.id for s in site.sensors}:
            pairs.append((sensor.id, f"{wing_landing}-{int(number) + 1}"))
    return pairs


def test_reference_site_groups_are_balanced_and_neighbours_differ(reference_site: Site) -> None:
    for groups in (2, 3, 4):
        of = sensor_groups(reference_site, groups)
        assert set(of) == {s.id for s in reference_site.sensors}
        sizes = Counter(of.values())
        assert set(sizes) == set(range(groups)) and max(sizes.values()) - min(sizes.values()) <= 1
        pairs = _landing_neighbours(reference_site)
        assert len(pairs) == 48, "12 wing landings of 5 sensors"
        assert all(of[a] != of[b] for a, b in pairs), "neighbours along a landing are in different groups"
    assert set(sensor_groups(reference_site, 1).values()) == {0}
    assert sensor_groups(reference_site, 4) == sensor_groups(reference_site, 4), "deterministic"


def test_a_written_scan_group_is_taken_and_one_too_high_is_refused(small_site: Site) -> None:
    first = small_site.sensors[0]
    placed = small_site.model_copy(
        update={"sensors": [first.model_copy(update={"scan_group": 2}), *small_site.sensors[1:]]}
    )
    assert sensor_groups(placed, 3)[first.id] == 2
    with pytest.raises(ValueError, match=rf"{first.id} \(2\)"):
        sensor_groups(placed, 2)
    with pytest.raises(ValueError, match="at least 1"):
        sensor_groups(small_site, 0)


def test_the_sites_groups_cover_g_tunings_at_once_each_with_a_share_of_the_sensors(reference_site: Site) -> None:
    groups = 4
    config = ScanConfig(groups=groups, revisit_every=4)
    plan = ScanPlan.build(BandPlan.load(), config, *RTLSDR_RANGE_HZ, 2.4e6)
    members = group_members(sensor_groups(reference_site, groups))
    schedules = {g: ScanSchedule(plan, config, g) for g in members}
    regular = range(1000, 1400)  # nothing heard, no focus: revisit slots keep the regular hop
    for slot in regular:
        on: dict[int, set[str]] = {}
        for g, schedule in schedules.items():
            on.setdefault(schedule.tuning_for(slot, 0.0)[0].index, set()).update(members[g])
        assert len(on) == groups, "the site covers G tunings at once"
        assert all(len(ids) == len(reference_site.sensors) / groups for ids in on.values())
    # every tuning is on some group's dwell every ceil(n/G) regular slots, against n with one site-wide hop
    # (counted in regular slots: a revisit slot goes to the focus whenever one holds)
    hop = [k for k in regular if not schedules[0].is_revisit_slot(k)]
    for tuning in plan.tunings:
        found = [i for i, k in enumerate(hop) if any(s.tuning_for(k, 0.0)[0] == tuning for s in schedules.values())]
        assert max(b - a for a, b in itertools.pairwise(found)) == math.ceil(len(plan.tunings) / groups)
