"""Correlation: which observations from several sensors are one emission."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from controller.correlate import Correlator
from controller.location_bench import busy_second
from controller.observations import Observation

GSM_BW = 200e3
T0 = 1_800_000_000.0


def gsm(sensor: str, start_s: float, freq_hz: float = 890.2e6, power_dbm: float = -70.0) -> Observation:
    return Observation(sensor, freq_hz, GSM_BW, "gsm", start_s, start_s + 546e-6, power_dbm)


def test_same_burst_at_three_sensors_is_one_emission():
    corr = Correlator(clock_tolerance_s=0.005)
    for sensor, skew_s, level in (("s1", 0.0, -60.0), ("s2", 0.0008, -75.0), ("s3", -0.0011, -82.0)):
        corr.add(gsm(sensor, T0 + skew_s, power_dbm=level))
    assert len(corr.ready(T0 + 1.0)) == 0, "an emission must wait for late reports (max_delay_s = 2 s)"
    (emission,) = corr.ready(T0 + 3.0)
    assert emission.powers_dbm == {"s1": -60.0, "s2": -75.0, "s3": -82.0}
    assert emission.observations[0].sensor_id == "s1", "observations are ordered strongest first"
    assert emission.technology == "gsm"
    assert corr.pending == 0


def test_two_phones_on_different_channels_are_two_emissions():
    corr = Correlator()
    for sensor in ("s1", "s2"):
        corr.add(gsm(sensor, T0, freq_hz=890.2e6))
        corr.add(gsm(sensor, T0, freq_hz=890.4e6))  # the next ARFCN, same instant
    emissions = corr.flush()
    assert len(emissions) == 2
    assert sorted(e.freq_hz for e in emissions) == [890.2e6, 890.4e6]
    assert all(e.sensor_ids == {"s1", "s2"} for e in emissions)


def test_different_technology_on_one_frequency_is_not_merged():
    corr = Correlator()
    corr.add(gsm("s1", T0))
    corr.add(Observation("s2", 890.2e6, GSM_BW, "lte", T0, T0 + 0.001, -70.0))
    assert len(corr.flush()) == 2


def test_small_frequency_disagreement_between_sensors_still_matches():
    """Residual ppm error: 30 kHz apart is well inside a quarter of a 200 kHz channel, across a bucket edge."""
    corr = Correlator()
    corr.add(gsm("s1", T0, freq_hz=890.249e6))
    corr.add(gsm("s2", T0, freq_hz=890.279e6))
    (emission,) = corr.flush()
    assert emission.sensor_ids == {"s1", "s2"}


@pytest.mark.parametrize(("skew_s", "grouped"), [(0.0049, True), (0.0051, False)])
def test_clock_tolerance_is_the_boundary(skew_s, grouped):
    corr = Correlator(clock_tolerance_s=0.005)
    corr.add(gsm("s1", T0))
    corr.add(gsm("s2", T0 + skew_s))
    emissions = corr.flush()
    assert len(emissions) == (1 if grouped else 2), f"skew {skew_s * 1e3:.1f} ms against a 5 ms tolerance"


def test_gsm_phones_in_adjacent_timeslots_stay_apart():
    """Two phones on one ARFCN, one timeslot (577 µs) apart; sensors' clocks disagree by up to 240 µs,
    inside the half-slot (288 µs) that separating timeslots needs."""
    slot_s = 576.9e-6
    corr = Correlator(clock_tolerance_s=0.005)
    # s1 hears both phones, s2 only phone B (s2's clock 120 µs early), s3 both (clock 120 µs late).
    corr.add(gsm("s1", T0, power_dbm=-60.0))
    corr.add(gsm("s1", T0 + slot_s, power_dbm=-85.0))
    corr.add(gsm("s2", T0 + slot_s - 120e-6, power_dbm=-62.0))
    corr.add(gsm("s3", T0 + 120e-6, power_dbm=-71.0))
    corr.add(gsm("s3", T0 + slot_s + 120e-6, power_dbm=-77.0))
    a, b = corr.flush()
    assert a.powers_dbm == {"s1": -60.0, "s3": -71.0}, "phone A: heard by s1 and s3 only"
    assert b.powers_dbm == {"s1": -85.0, "s2": -62.0, "s3": -77.0}, "phone B: s2's only burst belongs here"


CLOCK_OFFSETS_S = (0.9e-3, -0.9e-3, 0.6e-3, -0.6e-3, 0.3e-3, -0.3e-3, 0.8e-3, -0.8e-3)


def _heard_by_all(corr: Correlator, start_s: float, near: range, near_dbm: float, far_dbm: float) -> None:
    corr.add_many(
        gsm(f"s{i}", start_s + offset, power_dbm=near_dbm if i in near else far_dbm)
        for i, offset in enumerate(CLOCK_OFFSETS_S)
    )


def test_sensor_clocks_a_millisecond_apart_are_learnt_so_adjacent_timeslots_stay_apart():
    """NTP-disciplined sensors, each up to 0.9 ms off (1.8 ms between two): more than the half slot that
    separates phones on one ARFCN. A call heard alone first teaches the correlator the sensors' offsets; then
    a second phone two timeslots later, loud where the first is weak, stays apart at every sensor."""
    frame_s, slot_s = 4.615e-3, 576.9e-6
    corr = Correlator(clock_tolerance_s=0.005, max_delay_s=0.0)
    t = T0
    for _ in range(3):  # three 1 s windows of phone A alone
        for k in range(216):
            _heard_by_all(corr, t + k * frame_s, range(4), -50.0, -90.0)
        t += 216 * frame_s
        corr.ready(t)
    corr.ready(t + 0.01)  # the last of phone A alone, held in case a late report joined it
    t += 0.02
    offsets = corr.clocks.offset_s[[corr.sensor_code(f"s{i}") for i in range(8)]]
    expected = np.array(CLOCK_OFFSETS_S) - np.median(CLOCK_OFFSETS_S)
    assert offsets == pytest.approx(expected, abs=20e-6), "learnt against the sensors' consensus"
    for k in range(100):  # both phones: A in timeslot 0, B in timeslot 2
        _heard_by_all(corr, t + k * frame_s, range(4), -50.0, -90.0)
        _heard_by_all(corr, t + k * frame_s + 2 * slot_s, range(4, 8), -50.0, -90.0)
    emissions = corr.flush()
    assert len(emissions) == 200
    for emission in emissions:
        near = {s for s, p in emission.powers_dbm.items() if p == -50.0}
        assert near in ({"s0", "s1", "s2", "s3"}, {"s4", "s5", "s6", "s7"}), emission.powers_dbm
        assert len(emission.observations) == 8


def test_a_call_on_the_tdma_frame_is_one_emission_per_burst():
    """A phone in a call sends a burst every 4.615 ms, closer than the 5 ms clock tolerance."""
    frame_s = 4.615e-3
    corr = Correlator(clock_tolerance_s=0.005)
    for k in range(200):
        corr.add(gsm("s1", T0 + k * frame_s))
        if k % 7:  # s2 misses some bursts
            corr.add(gsm("s2", T0 + k * frame_s + 300e-6))
    emissions = corr.flush()
    assert len(emissions) == 200
    assert sum(len(e.observations) == 2 for e in emissions) == sum(1 for k in range(200) if k % 7)


def test_windows_release_in_order_and_keep_late_neighbours():
    corr = Correlator(clock_tolerance_s=0.005, max_delay_s=2.0)
    corr.add(gsm("s1", T0))
    corr.add(gsm("s1", T0 + 1.0))
    first = corr.ready(T0 + 2.5)
    assert [e.start_s for e in first] == [T0]
    corr.add(gsm("s2", T0 + 1.001))  # arrives late, but within max_delay_s
    (second,) = corr.ready(T0 + 3.5)
    assert second.sensor_ids == {"s1", "s2"}


def test_a_burst_reported_after_its_emission_was_released_is_a_straggler_not_an_emission():
    """s3's report of the call comes after the horizon passed it: its bursts are counted as stragglers, not
    handed out as an emission heard by s3 alone (located near s3, a phone that is not there). s3's late burst
    on a channel nothing was released on is a new emission, handed out as usual."""
    corr = Correlator(clock_tolerance_s=0.005, max_delay_s=0.0)
    for frame in range(3):
        for sensor, skew_s in (("s1", 0.0), ("s2", 0.4e-3)):
            corr.add(gsm(sensor, T0 + frame * 4.615e-3 + skew_s))
    released = corr.ready(T0 + 1.0)
    assert len(released) == 3 and all(e.sensor_ids == {"s1", "s2"} for e in released)
    for frame in range(3):
        corr.add(gsm("s3", T0 + frame * 4.615e-3 - 0.6e-3))
    corr.add(gsm("s3", T0 + 0.5, freq_hz=892.0e6))
    (new,) = corr.ready(T0 + 2.0)
    assert new.sensor_ids == {"s3"} and new.freq_hz == 892.0e6
    assert corr.stragglers == 3
    assert corr.pending == 0


def test_a_resend_a_minute_late_is_still_recognised_as_straggling():
    """Releases every 20 ms for a minute (the stored spans merged along the way): a report of the first
    second, resent after a broker outage, still finds its emission."""
    corr = Correlator(clock_tolerance_s=0.005, max_delay_s=0.0)
    for k in range(3000):
        corr.add(gsm("s1", T0 + k * 0.02, freq_hz=890.2e6 + (k % 5) * 200e3))
        corr.ready(T0 + k * 0.02 + 0.01)
    corr.add(gsm("s2", T0 + 0.02 * 7 + 1e-3, freq_hz=890.2e6 + 2 * 200e3))
    corr.add(gsm("s2", T0 + 0.02 * 7 + 1e-3, freq_hz=890.2e6 + 3 * 200e3))  # no emission there then
    assert corr.stragglers == 1
    assert corr.pending == 1


def test_observation_rejects_inverted_times():
    with pytest.raises(ValueError, match="before start_s"):
        Observation("s1", 890e6, GSM_BW, "gsm", 2.0, 1.0, -70.0)


def test_twenty_thousand_interleaved_observations_are_all_accounted_for():
    """A second of a busy site: 5000 bursts on 150 channels, each heard by 4 of 8 sensors, clocks +-0.1 ms.
    (Throughput is printed by `cellward bench location`, not timed here.)"""
    obs = busy_second(seed=5)
    corr = Correlator()
    corr.add_many(obs)
    emissions = corr.flush()
    assert sum(len(e.observations) for e in emissions) == len(obs), "no observation lost or duplicated"
    assert all(len(e.sensor_ids) == len(e.observations) for e in emissions), "one observation per sensor"
    assert 0.97 * 5000 <= len(emissions) <= 1.03 * 5000, f"{len(emissions)} emissions from 5000 bursts"


def test_an_lte_phones_wide_and_narrow_bursts_at_one_moment_are_two_emissions_each_heard_by_every_sensor():
    """PUSCH (2.16 MHz) and PUCCH (360 kHz, beside it) start within 0.1 ms at each sensor; the sensors' clocks
    differ by up to 0.6 ms. A sensor's two bursts on two channels must not bound how far apart two sensors'
    starts may join (taken as a GSM frame's bursts, they split each burst into one emission per sensor)."""
    corr = Correlator(clock_tolerance_s=0.005)
    for sensor, skew_s in (("s1", 0.0), ("s2", 0.0003), ("s3", -0.0003), ("s4", 0.0006)):
        corr.add(Observation(sensor, 1751.46e6, 2.16e6, "lte", T0 + skew_s, T0 + skew_s + 0.001, -70.0))
        corr.add(Observation(sensor, 1751.64e6, 360e3, "lte", T0 + skew_s + 1e-4, T0 + skew_s + 0.0011, -75.0))
    emissions = corr.flush()
    assert sorted((e.freq_hz, len(e.observations)) for e in emissions) == [(1751.46e6, 4), (1751.64e6, 4)]


def test_an_nr_burst_one_sensor_cut_in_pieces_stays_one_emission_for_everyone_else():
    """Twelve sensors hear one NR burst, their clocks 2 ms apart; one IQ node's detector cut it into three pieces
    on the same channel, 0.7-1.4 ms apart. Taken as a multislot GSM phone's timeslots, the pieces bounded the
    join to 0.35 ms and split the burst into several emissions, each located from a few sensors."""
    corr = Correlator(clock_tolerance_s=0.005)
    for k in range(12):
        start = T0 + k * 0.0002
        corr.add(Observation(f"s{k:02d}", 715.3e6, 360e3, "nr", start, start + 0.003, -60.0 - k))
    for offset_s, bandwidth in ((0.0039, 201e3), (0.0053, 209e3), (0.0060, 305e3)):
        corr.add(Observation("iq", 715.35e6, bandwidth, "nr", T0 + offset_s, T0 + offset_s + 0.0005, -90.0))
    heard = sorted(len(e.observations) for e in corr.flush())
    assert heard[-1] >= 12, f"the twelve sensors' burst must be one emission, got emissions heard by {heard}"


def test_an_lte_burst_one_sensor_heard_in_pieces_does_not_split_the_others_among_them():
    """Forty sensors hear a 6 ms LTE burst, their clocks 2 ms apart; one IQ node's detector cut it into three
    pieces. Anchored on the pieces (the node heard the most bursts), the forty split 33 / 8 and the 8
    placed the phone a landing away."""
    corr = Correlator(clock_tolerance_s=0.005)
    for k in range(40):
        start = T0 + k * 0.00005
        corr.add(Observation(f"s{k:02d}", 839.5e6, 180e3, "lte", start, start + 0.006, -50.0 - k))
    for offset_s in (0.0, 0.0017, 0.0031):
        corr.add(Observation("iq", 839.5e6, 180e3, "lte", T0 + offset_s, T0 + offset_s + 0.001, -90.0))
    heard = sorted(len(e.observations) for e in corr.flush())
    assert heard[-1] == 41, f"the forty and one piece are one emission, got emissions heard by {heard}"


def test_the_simulators_sensor_clocks_are_learnt_from_its_evening() -> None:
    """The small site's evening in event mode, whose sensors' clocks are each up to 1 ms off (sim.events): the
    offsets learnt from ten seconds of it match the simulator's, against their median, to 20 µs."""
    from cellward.site import load_site, small_site_path
    from sim.events import CLOCK_OFFSET_MAX_S, observations
    from sim.scenario import load_scenario
    from sim.world import World, stable_seed

    scenario = Path(__file__).resolve().parents[2] / "sim" / "scenarios" / "small-evening.yaml"
    world = World(load_site(small_site_path()), load_scenario(scenario))
    corr = Correlator(clock_tolerance_s=0.005, max_delay_s=0.0)
    for second in range(30, 40):
        corr.add_many(
            Observation(
                o.sensor_id, o.freq_hz, o.bandwidth_hz, o.technology, o.start_s, o.start_s + o.duration_s, o.power_dbm
            )
            for o in observations(world, second, second + 1)
            if o.technology != "unknown"
        )
        corr.ready(second + 1)
    truth = np.random.default_rng(stable_seed(world.seed, "clocks")).uniform(
        -CLOCK_OFFSET_MAX_S, CLOCK_OFFSET_MAX_S, len(world.sensors)
    )
    learnt = {sensor_id: corr.clocks.offset_s[corr.sensor_code(sensor_id)] for sensor_id in corr.sensor_ids}
    assert len(learnt) == len(world.sensors)
    truth_by_id = {s.id: truth[i] for i, s in enumerate(world.sensors)}
    centre = np.median(list(truth_by_id.values()))
    for sensor_id, offset in learnt.items():
        assert offset == pytest.approx(truth_by_id[sensor_id] - centre, abs=20e-6), sensor_id


def _phones_on_one_channel(rng: np.random.Generator) -> list[Observation]:
    """One moment of up to three phones on one GSM ARFCN a timeslot or two apart (or an LTE carrier's bursts as
    far apart), each heard by some of twelve sensors whose clocks disagree by up to ±60 µs, or ±200 µs (every
    other moment on a 15 µs grid, so that bursts lie exactly as far from two others); now and then a sensor
    also hears a stray burst, on the channel, just off it, or on the next 100 kHz, which a burst of the same
    sensor may then compete with."""
    slot_s = 576.9e-6
    technology, bandwidth_hz = ("gsm", GSM_BW) if rng.random() < 0.7 else ("lte", 1.4e6)
    grid_s = 2.0**-16 if rng.random() < 0.5 else 0.0
    jitter_s = 60e-6 if rng.random() < 0.7 else 200e-6

    def burst(sensor: int, offset_s: float, freq_hz: float = 890.2e6) -> Observation:
        offset_s = round(offset_s / grid_s) * grid_s if grid_s else offset_s
        power_dbm = float(rng.choice([-80.0, -60.0]))
        return Observation(
            f"s{sensor}", freq_hz, bandwidth_hz, technology, T0 + offset_s, T0 + offset_s + 546e-6, power_dbm
        )

    observations = [
        burst(sensor, rng.uniform(-jitter_s, jitter_s) + slot * slot_s)
        for slot in rng.choice(4, size=rng.integers(1, 4), replace=False)
        for sensor in range(12)
        if rng.random() < 0.7
    ]
    for _ in range(rng.choice([0, 0, 0, 1, 2])):
        freq_hz = 890.2e6 + float(rng.choice([0.0, 30e3, 100e3]))
        observations.append(burst(int(rng.integers(12)), rng.uniform(0.0, 4 * slot_s), freq_hz))
    return observations


def test_the_one_pass_grouping_of_a_cluster_is_the_reference_grid_loops(monkeypatch):
    """A cluster where each burst's nearest anchor is free takes one pass instead of the loop: the same
    emissions, with the same members joined in the same order, on random moments of phones sharing a channel."""
    rng = np.random.default_rng(7)
    joined_nearest, split_cluster = Correlator._joined_nearest, Correlator._split_cluster
    tried: list[bool] = []  # per cluster that reached the loop, whether the one pass took it

    def grouped(observations: list[Observation], one_pass) -> tuple[list, list]:
        splits = []
        with monkeypatch.context() as patched:
            patched.setattr(Correlator, "_joined_nearest", one_pass)
            patched.setattr(
                Correlator, "_split_cluster", lambda *args: splits.append(split_cluster(*args)) or splits[-1]
            )
            correlator = Correlator(clock_tolerance_s=0.005)
            correlator.add_many(observations)
            return list(correlator.flush()), splits

    def recorded(*args):
        groups = joined_nearest(*args)
        tried.append(groups is not None)
        return groups

    for _ in range(300):
        observations = _phones_on_one_channel(rng)
        assert grouped(observations, recorded) == grouped(observations, lambda *args: None)
    assert 0.25 * len(tried) < sum(tried) < len(tried), f"one pass for {sum(tried)} of {len(tried)} clusters: both ways"
