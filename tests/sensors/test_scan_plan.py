"""The scan plan: what an RTL-SDR can hear, tunings that cover the bands, and one hop schedule per site."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from dsp.band_plan import BandPlan
from sensors.scan_plan import ScanConfig, ScanPlan, ScanSchedule, SiteFocus

PLAN = BandPlan.load()
RTL = (24e6, 1766e6)


def _plan(**config) -> ScanPlan:
    return ScanPlan.build(PLAN, ScanConfig(**config), *RTL, 2.4e6)


def test_rtl_sdr_scans_the_low_bands_and_warns_about_the_rest() -> None:
    plan = _plan()
    assert set(plan.scanned) == {"B28", "B20", "B8", "B3"}
    assert "B3 1766-1785 MHz" in plan.unreachable, "B3 above 1766 MHz is out of an R820T's reach"
    for band in ("B1", "B7"):
        assert band in plan.unreachable
        assert any(w.startswith(f"band {band}") and "SoapySDR" in w for w in plan.warnings)


def test_tunings_cover_every_reachable_uplink_hz_within_the_searched_span() -> None:
    plan = _plan(bands=["B8", "B3"])
    span = 0.85 * 2.4e6
    for band, low, high in (("B8", 880e6, 915e6), ("B3", 1710e6, 1766e6)):
        tunings = sorted((t for t in plan.tunings if t.band == band), key=lambda t: t.centre_hz)
        assert tunings[0].low_hz == pytest.approx(low) and tunings[-1].high_hz == pytest.approx(high)
        for a, b in itertools.pairwise(tunings):
            assert a.high_hz == pytest.approx(b.low_hz), "no gaps between neighbouring tunings"
        assert all(t.high_hz - t.low_hz <= span + 1 for t in tunings), "each tuning within the usable span"


def test_every_sensor_of_a_site_is_on_the_same_tuning_in_the_same_slot() -> None:
    a, b = _plan(), _plan()
    schedule_a, schedule_b = ScanSchedule(a, ScanConfig(revisit_every=0)), ScanSchedule(b, ScanConfig(revisit_every=0))
    t = 1_795_000_000.0
    for k in range(300):
        slot_a, slot_b = a.slot_at(t + k * 0.125 + 0.01), b.slot_at(t + k * 0.125 + 0.06)
        assert slot_a == slot_b, "a slot is a wall-clock interval, the same for every sensor"
        assert schedule_a.tuning_for(slot_a, t)[0] == schedule_b.tuning_for(slot_b, t)[0]


def test_one_cycle_visits_every_tuning_once_in_a_spread_order() -> None:
    plan = _plan()
    n = len(plan.tunings)
    visited = [plan.regular_tuning(k).index for k in range(n)]
    assert sorted(visited) == list(range(n))
    steps = [abs(plan.regular_tuning(k + 1).centre_hz - plan.regular_tuning(k).centre_hz) for k in range(n)]
    assert min(steps) > 2.4e6, "consecutive hops land on different tunings, not neighbours"


def test_recently_active_tunings_are_revisited_more_often() -> None:
    plan = _plan()
    schedule = ScanSchedule(plan, ScanConfig(revisit_every=4, active_ttl_s=30))
    hot = plan.tunings[7]
    schedule.note_activity(hot, 1000.0)
    visits = sum(schedule.tuning_for(k, 1001.0)[0] == hot for k in range(4 * len(plan.tunings)))
    assert visits >= len(plan.tunings), f"an active tuning gets every revisit slot: {visits} visits"
    stale = sum(schedule.tuning_for(k, 1100.0)[0] == hot for k in range(len(plan.tunings)))
    assert stale == 1, "after the activity expires the tuning gets its regular visit only"


def test_with_the_site_focus_every_sensor_revisits_the_same_tuning_whatever_it_heard_itself() -> None:
    plan = _plan()
    config = ScanConfig(revisit_every=4, active_ttl_s=30)
    a, b = ScanSchedule(plan, config), ScanSchedule(plan, config)
    a.note_activity(plan.tunings[3], 1000.0)  # each heard a different phone of its own
    b.note_activity(plan.tunings[40], 1000.0)
    wanted = {plan.tunings[9], plan.tunings[60]}
    focus = SiteFocus(tuple(t.centre_hz for t in wanted), expires_s=1030.0, seq=5)
    revisits = [k for k in range(200) if k % 8 in (6, 7)]
    assert [a.tuning_for(k, 1001.0, focus) for k in revisits] == [b.tuning_for(k, 1001.0, focus) for k in revisits]
    assert {a.tuning_for(k, 1001.0, focus)[0] for k in revisits} == wanted, "the focus, not the node's own activity"
    assert all(a.tuning_for(k, 1001.0, focus)[1] for k in revisits)
    regular = [k for k in range(200) if k % 8 < 6]
    assert [a.tuning_for(k, 1001.0, focus)[0] for k in regular] == [plan.regular_tuning(r) for r in range(150)]


def test_the_control_carriers_take_every_other_pair_of_revisit_slots_on_every_sensor() -> None:
    """A focus naming the GSM control carriers' uplinks: even pairs of revisit slots go to their tunings, both
    slots of a pair to one carrier, odd pairs to the active channels', one each, the same on every sensor; with
    nothing active they take every pair."""
    plan = _plan()
    config = ScanConfig(revisit_every=4, active_ttl_s=30)
    a, b = ScanSchedule(plan, config), ScanSchedule(plan, config)
    a.note_activity(plan.tunings[3], 1000.0)
    control = (plan.tunings[20], plan.tunings[50])
    active = (plan.tunings[9], plan.tunings[60], plan.tunings[61])
    focus = SiteFocus(tuple(t.centre_hz for t in active), 1030.0, 5, control_hz=tuple(t.centre_hz for t in control))
    revisits = [k for k in range(8 * 24) if k % 8 in (6, 7)]
    seen = [a.tuning_for(k, 1001.0, focus)[0] for k in revisits]
    assert seen == [b.tuning_for(k, 1001.0, focus)[0] for k in revisits]
    pairs = [seen[i : i + 2] for i in range(0, len(seen), 2)]
    assert pairs[0::2] == [[control[i % 2]] * 2 for i in range(12)], "even pairs: one control carrier each, in turn"
    odd = [tuning for pair in pairs[1::2] for tuning in pair]
    assert odd == [active[i % 3] for i in range(24)], "odd pairs: the active tunings in turn"
    quiet = SiteFocus((), 1030.0, 6, control_hz=focus.control_hz)
    b_quiet = [b.tuning_for(k, 1001.0, quiet)[0] for k in revisits]
    assert b_quiet == [control[i // 2 % 2] for i in range(48)], "nothing heard anywhere: every pair"
    assert a.tuning_for(revisits[2], 1001.0, quiet)[0] == plan.tunings[3], "or alternating with its own activity"


def test_a_pair_of_control_slots_catches_signalling_that_single_slots_keep_missing() -> None:
    """SDCCH blocks (4 bursts over 18.5 ms) once per 51-multiframe (235.4 ms), an SMS's ten seconds of them: over
    every phase of the schedule against them, the dwells on the control carrier catch a whole burst far more
    often than single revisit slots 32 slots apart (17.0 multiframes, the same phase visit after visit) did."""
    plan = _plan()
    config = ScanConfig(revisit_every=4, active_ttl_s=30)
    schedule = ScanSchedule(plan, config)
    carrier = plan.tunings[20]
    others = [plan.tunings[k].centre_hz for k in (35, 50, 65)]  # four operators' carriers, as in the demo
    focus = SiteFocus((plan.tunings[9].centre_hz,), 1e9, 5, control_hz=(carrier.centre_hz, *others))
    frame_s, multiframe_s = 120e-3 / 26, 51 * 120e-3 / 26
    bursts = np.array([m * multiframe_s + f * frame_s for m in range(43) for f in range(4)])
    visits = [k for k in range(2000) if schedule.tuning_for(k, 1001.0, focus)[0] == carrier]
    dwell_starts = np.array(visits) * config.slot_s + config.settle_s

    def caught(phase_s: float) -> bool:
        start = bursts[:, None] + phase_s
        inside = (start >= dwell_starts) & (start + 577e-6 <= dwell_starts + config.dwell_s)
        return bool(inside.any())

    phases = np.linspace(dwell_starts[0], dwell_starts[0] + 16 * config.slot_s * 8, 400, endpoint=False)
    rate = np.mean([caught(p) for p in phases])
    assert rate >= 0.85, f"caught from {rate:.0%} of the phases"


def test_while_a_focus_holds_the_regular_slots_still_visit_every_tuning_once_a_cycle() -> None:
    """The reference plan's 76 tunings with a revisit every 4th slot: numbered by the slot, the 19 tunings
    that fell on revisit slots were never visited while the site's focus held (a busy prison: always)."""
    plan = _plan()
    n = len(plan.tunings)
    for groups in (1, 2):
        config = ScanConfig(revisit_every=4, active_ttl_s=30, groups=groups)
        focus = SiteFocus((plan.tunings[9].centre_hz,), expires_s=1e9, seq=5)
        for group in range(groups):
            schedule = ScanSchedule(plan, config, group)
            hop = [k for k in range(4 * n // 3 + 8) if not schedule.is_revisit_slot(k)]
            visited = {schedule.tuning_for(k, 1001.0, focus)[0].index for k in hop}
            assert visited == set(range(n)), f"group {group} of {groups} never visits {set(range(n)) - visited}"


def test_an_expired_or_foreign_focus_falls_back_to_what_the_sensor_heard_itself() -> None:
    plan = _plan(bands=["B8"])
    schedule = ScanSchedule(plan, ScanConfig(revisit_every=4, active_ttl_s=30))
    own = plan.tunings[2]
    schedule.note_activity(own, 1000.0)
    elsewhere = plan.tunings[5]
    expired = SiteFocus((elsewhere.centre_hz,), expires_s=1001.0, seq=5)
    assert schedule.tuning_for(7, 1001.0, expired)[0] == own, "a focus is obeyed only until it expires"
    outside = SiteFocus((1745e6,), expires_s=1030.0, seq=6)  # B3: not in this plan
    assert schedule.tuning_for(7, 1001.0, outside)[0] == own, "channels outside the plan are ignored"
    assert schedule.tuning_for(7, 1001.0, SiteFocus((), 1030.0, 7))[0] == own
    assert plan.tuning_holding(elsewhere.low_hz) == elsewhere and plan.tuning_holding(elsewhere.high_hz) != elsewhere


def test_range_limits_the_scan_and_unknown_bands_are_refused() -> None:
    plan = _plan(bands=["B8"], range_hz=(896.4e6, 898.4e6))
    assert len(plan.tunings) == 1 and plan.tunings[0].centre_hz == pytest.approx(897.4e6)
    with pytest.raises(ValueError, match="unknown band"):
        _plan(bands=["B99"])
    with pytest.raises(ValueError, match="nothing to scan"):
        ScanPlan.build(PLAN, ScanConfig(bands=["B1"]), *RTL, 2.4e6)


def test_groups_hop_the_common_schedule_offset_and_cover_as_many_tunings_at_once() -> None:
    plan = _plan()
    n = len(plan.tunings)  # 76: the RTL-SDR's four bands
    for groups in (2, 3, 4, 8):
        offset = math.ceil(n / groups)
        for slot in range(3 * n):
            on = [plan.regular_tuning(slot, g, groups) for g in range(groups)]
            assert len(set(on)) == groups, "in a regular slot every group is on a tuning of its own"
            assert on == [plan.regular_tuning(slot + offset * g) for g in range(groups)]
        # each group visits every tuning once per cycle, so the site visits one every ~n/groups slots
        for g in range(groups):
            assert sorted(plan.regular_tuning(k, g, groups).index for k in range(n)) == list(range(n))
        for tuning in plan.tunings[::11]:
            visits = [k for k in range(2 * n) if tuning in {plan.regular_tuning(k, g, groups) for g in range(groups)}]
            assert max(b - a for a, b in itertools.pairwise(visits)) <= offset, "a gap of at most ceil(n/G) slots"
    assert [plan.regular_tuning(k, 0, 1) for k in range(n)] == [plan.regular_tuning(k) for k in range(n)]
    with pytest.raises(ValueError, match="scan group 4"):
        plan.regular_tuning(0, 4, 4)


def test_with_more_groups_than_tunings_groups_share_tunings() -> None:
    plan = _plan(bands=["B8"], range_hz=(896.4e6, 900.4e6))
    assert len(plan.tunings) == 2
    assert {plan.regular_tuning(5, g, 3) for g in range(3)} == set(plan.tunings)


def test_every_group_revisits_the_focus_together_and_hops_apart_otherwise() -> None:
    plan = _plan()
    config = ScanConfig(revisit_every=4, groups=4)
    schedules = [ScanSchedule(plan, config, g) for g in range(4)]
    wanted = plan.tunings[9]
    focus = SiteFocus((wanted.centre_hz,), expires_s=1030.0, seq=5)
    for k in range(200):
        on = {s.tuning_for(k, 1001.0, focus) for s in schedules}
        if k % 8 in (6, 7):
            assert on == {(wanted, True)}, "revisit slots bring every group onto the focus"
        else:
            assert len(on) == 4 and not any(revisit for _, revisit in on)
    assert [k for k in range(16) if schedules[0].is_revisit_slot(k)] == [6, 7, 14, 15], "two back to back in 8"
    assert not any(ScanSchedule(plan, ScanConfig(revisit_every=0)).is_revisit_slot(k) for k in range(16))
    assert all(ScanSchedule(plan, ScanConfig(revisit_every=1)).is_revisit_slot(k) for k in range(16))


def test_a_sensor_group_must_be_below_the_number_of_groups() -> None:
    assert ScanConfig(groups=4, group=3).group == 3
    with pytest.raises(ValueError, match="not below the number of groups"):
        ScanConfig(groups=4, group=4)
