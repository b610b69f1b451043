"""Reports to sightings: a phone's bursts heard by the same sensors are averaged before it is located again."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cellward.site import load_site, small_site_path
from cellward.site.propagation import PropagationModel, PropagationParams
from controller.correlate import Correlator, Emissions, HeardEmission
from controller.locate import Locator
from controller.locating import RESOURCE_BLOCK_HZ, apart_at_once, averaged
from controller.location_bench import Building, Truth, random_point_in_room
from controller.observations import Observation
from tests.support.fresh_interpreter import run_fresh

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
        batch = DetectionBatch.model_construct(reports=[replace(report(1, 1), clipped_fraction=clipped)])
        locating.add_reports(sensor_id, batch, 0.0)
    return [s.sensor_powers_dbm for s in locating.ready(1e10)]


def test_a_clipped_sensors_report_is_neither_located_nor_an_emission():
    """A dwell in compression reads a nearby phone too low and reports intermodulation as bursts."""
    assert [set(p) for p in _heard_by({"A0-1": 0.0, "A1-1": 0.0})] == [{"A0-1", "A1-1"}]
    assert [set(p) for p in _heard_by({"A0-1": 0.0, "A1-1": 0.02})] == [{"A0-1"}], "the clipped sensor is left out"
    assert _heard_by({"A1-1": 0.02}) == [], "nothing but a clipped report: no sighting"


def test_one_sensors_burst_below_the_sensitivity_is_stored_not_located():
    """Noise through one sensor's detector looks like a weak burst; a phone that weak (below receiver noise plus
    the detection SNR in its bandwidth) heard by no other sensor is too little to open an incident on."""
    from controller.locate import SINGLE_SENSOR
    from controller.locating import SiteLocating

    locating = SiteLocating(load_site(small_site_path()), delay_s=0.0)
    floor_dbm = locating.locator.sensitivity_dbm(200e3)
    locating.add_reports("A1-1", _reports(1.0, {897.4: [0.1]}, level=floor_dbm - 3.0), T)
    assert locating.ready(T + 1e3) == [], "below the sensitivity, one sensor: no sighting"
    locating.add_reports("A1-1", _reports(1.0, {897.4: [2.1]}, start_s=2.0, level=floor_dbm + 3.0), T + 2)
    assert [s.method for s in locating.ready(T + 2e3)] == [SINGLE_SENSOR], "above it: its coverage region"
    locating.add_reports("A0-1", _reports(1.0, {897.0: [4.1]}, start_s=4.0, level=floor_dbm - 3.0), T + 4)
    locating.add_reports("A1-1", _reports(1.0, {897.0: [4.1]}, start_s=4.0, level=floor_dbm - 2.0), T + 4)
    assert len(locating.ready(T + 4e3)) == 1, "two sensors hearing it weakly: located"


def test_one_sensors_burst_barely_over_its_own_noise_is_stored_not_located():
    """A sensor whose floor is above the nominal receiver's (low gain, a noisy landing) passes its noise as
    bursts loud enough for the level test; their own SNR, under the detection SNR, gives them away."""
    from controller.locate import SINGLE_SENSOR
    from controller.locating import SiteLocating

    locating = SiteLocating(load_site(small_site_path()), delay_s=0.0)
    loud_enough = locating.locator.sensitivity_dbm(200e3) + 10.0
    snr_limit = locating.locator.detection_snr_db
    locating.add_reports("A1-1", _reports(1.0, {897.4: [0.1]}, level=loud_enough, snr_db=snr_limit - 4.0), T)
    assert locating.ready(T + 1e3) == [], "2 dB over its noise, one sensor: no sighting"
    locating.add_reports("A1-1", _reports(1.0, {897.4: [2.1]}, start_s=2.0, level=loud_enough, snr_db=snr_limit), T + 2)
    assert [s.method for s in locating.ready(T + 2e3)] == [SINGLE_SENSOR], "at the detection SNR: its coverage region"
    for sensor in ("A0-1", "A1-1"):
        batch = _reports(1.0, {897.0: [4.1]}, start_s=4.0, level=loud_enough, snr_db=snr_limit - 4.0)
        locating.add_reports(sensor, batch, T + 4)
    assert len(locating.ready(T + 4e3)) == 1, "two sensors hearing it near their noise: located"


T = 1_795_000_000.0


def _reports(
    window_s: float,
    bursts: dict[float, list[float]],
    start_s: float = 0.0,
    cut_early: bool = False,
    level=-60.0,
    operators: list[str] | None = None,
    burst_count: int | None = None,
    snr_db: float | None = None,
):
    """One sensor's detections batch: per channel (MHz) its GSM bursts (s after T) in the window
    [start_s, start_s + window_s); `operators` replaces the example report's; `burst_count`, when more than
    the bursts given, says the sensor heard more than it listed; `snr_db` replaces the bursts' in-band SNR."""
    from datetime import UTC, datetime

    from cellward.messages import DetectionBatch, utc_text
    from tests.contract.examples import report

    def utc(t: float) -> datetime:
        return datetime.fromtimestamp(T + t, UTC)

    reports = []
    for mhz, starts in bursts.items():
        reports.append(
            replace(
                report(max(burst_count or 0, len(starts)), len(starts)),
                **{
                    "freq_hz": mhz * 1e6,
                    "window_start": utc(start_s),
                    "window_s": window_s,
                    "cut_early": cut_early,
                    **({"first_burst": utc(min(starts)), "last_burst": utc(max(starts) + 546e-6)} if starts else {}),
                    **({} if operators is None else {"operators": operators}),
                    "bursts": [
                        replace(
                            b,
                            start=utc_text(T + t, 6),
                            freq_hz=mhz * 1e6,
                            power_dbm=level,
                            **({} if snr_db is None else {"snr_db": snr_db}),
                        )
                        for b, t in zip(report(len(starts), len(starts)).bursts, starts, strict=True)
                    ],
                },
            )
        )
    return DetectionBatch.model_construct(reports=reports)


def test_a_new_phone_is_located_from_the_early_cut_and_steady_channels_wait_for_their_whole_window():
    """A0-1 and A1-1 hear a new phone on 897.0 MHz and cut at the dwell end (0.225 s); all three sensors
    hear a steady phone on 897.4 MHz, reported when the window ends, by each sensor a little apart."""
    from controller.locating import SiteLocating

    locating = SiteLocating(load_site(small_site_path()), delay_s=0.1)
    new, steady = [0.1453, 0.1499], [0.0102, 0.3102, 0.6102]
    for sensor, level in (("A0-1", -55.0), ("A1-1", -70.0)):
        locating.add_reports(sensor, _reports(0.225, {897.0: new}, cut_early=True, level=level), T + 0.235)
    (first,) = locating.ready(T + 0.335)
    assert (first.freq_hz, first.start_s - T) == pytest.approx((897.0e6, 0.1453), abs=1e-6) and set(
        first.sensor_powers_dbm
    ) == {"A0-1", "A1-1"}
    assert locating.ready(T + 1.0) == [], "nothing else has settled"

    # the window's end: the steady channel from all three (one late by 50 ms), and the new channel's bursts
    # again in the main correlator (same sensors: not located a second time)
    locating.add_reports("A0-1", _reports(1.0, {897.4: steady}), T + 1.01)
    assert locating.ready(T + 1.02) == [], "the cut's horizon must not release the steady channel from one sensor"
    locating.add_reports("A1-1", _reports(1.0, {897.4: steady}), T + 1.03)
    locating.add_reports("HUB0", _reports(1.0, {897.4: steady}), T + 1.06)
    sightings = locating.ready(T + 1.2)
    assert [(s.freq_hz, set(s.sensor_powers_dbm)) for s in sightings] == [(897.4e6, {"A0-1", "A1-1", "HUB0"})], (
        "the steady phone as one emission heard by all three; the new phone is not located again"
    )


def test_a_sensor_that_did_not_cut_refines_the_new_phone_when_the_window_ends():
    """HUB0 heard the new phone's channel lately, so it reports the burst only with its whole window: the
    emission then has all three sensors and is located again (the incident engine merges it)."""
    from controller.locating import SiteLocating

    locating = SiteLocating(load_site(small_site_path()), delay_s=0.1)
    new = [0.1453]
    for sensor in ("A0-1", "A1-1"):
        locating.add_reports(sensor, _reports(0.225, {897.0: new}, cut_early=True), T + 0.235)
    assert [set(s.sensor_powers_dbm) for s in locating.ready(T + 0.4)] == [{"A0-1", "A1-1"}]
    locating.add_reports("HUB0", _reports(1.0, {897.0: new}), T + 1.01)
    (refined,) = locating.ready(T + 1.2)
    assert refined.start_s - T == pytest.approx(0.1453, abs=1e-6) and set(refined.sensor_powers_dbm) == {
        "A0-1",
        "A1-1",
        "HUB0",
    }


def test_cut_reports_of_a_network_the_site_already_hears_wait_for_everyones_window():
    """A0-1 has heard the network all along (its reports are not cut); A1-1, far from the phone, hears it only
    now and then, so each time it is new there and A1-1 cuts. Located from A1-1's cut alone the phone would
    land beside A1-1: the prompt path leaves it to the window's end, where both sensors place it."""
    from controller.locating import SiteLocating

    locating = SiteLocating(load_site(small_site_path()), delay_s=0.1)
    locating.add_reports("A0-1", _reports(1.0, {897.0: [-2.9]}, start_s=-3.0), T - 1.99)
    assert len(locating.ready(T - 1.8)) == 1, "the network, as A0-1 has heard it"
    locating.add_reports("A1-1", _reports(0.225, {897.2: [0.1453]}, cut_early=True, level=-95.0), T + 0.235)
    assert locating.ready(T + 0.4) == [], "not located from the far sensor's cut alone"
    locating.add_reports("A0-1", _reports(1.0, {897.2: [0.1453]}, level=-50.0), T + 1.01)
    locating.add_reports("A1-1", _reports(1.0, {}, start_s=0.225), T + 1.01)
    (sighting,) = locating.ready(T + 1.2)
    assert set(sighting.sensor_powers_dbm) == {"A0-1", "A1-1"}


def test_a_new_phone_of_a_network_the_site_hears_is_located_at_once_when_a_sensor_hears_it_close():
    """Another phone of the same network appears beside A1-1: loud there, so the cut is located at once."""
    from controller.locating import SiteLocating

    locating = SiteLocating(load_site(small_site_path()), delay_s=0.1)
    locating.add_reports("A0-1", _reports(1.0, {897.0: [-2.9]}, start_s=-3.0), T - 1.99)
    assert len(locating.ready(T - 1.8)) == 1
    locating.add_reports("A1-1", _reports(0.225, {897.2: [0.1453]}, cut_early=True, level=-55.0), T + 0.235)
    (sighting,) = locating.ready(T + 0.4)
    assert set(sighting.sensor_powers_dbm) == {"A1-1"}


def test_a_burst_the_few_call_another_technology_than_the_many_is_theirs_misclassified():
    from controller.locating import outvoted

    correlator = Correlator()

    def heard(sensors, technology, start_s, freq_hz=897.4e6, bandwidth_hz=200e3):
        return [Observation(s, freq_hz, bandwidth_hz, technology, start_s, start_s + 546e-6, -60.0, 1) for s in sensors]

    correlator.add_many(
        heard(["A0-1", "A1-1", "HUB0"], "gsm", 10.0)
        + heard(["A0-2", "A1-2"], "nr", 10.0003, 897.5e6, 360e3)  # the same burst, taken for NR by two
        + heard(["A0-2", "A1-2"], "nr", 10.5, 897.5e6, 360e3)  # NR that nobody heard otherwise
        + heard(["A0-1", "A1-1"], "lte", 10.0002, 1745.0e6)  # another band at the same moment
    )
    emissions = correlator.flush()
    technologies = [emissions.technologies[t] for t in emissions.bursts.technology[emissions.strongest]]
    keys = zip(technologies, emissions.start_s.round(4).tolist(), strict=True)
    verdict = dict(zip(keys, outvoted(emissions, 0.005).tolist(), strict=True))
    assert verdict == {
        ("gsm", 10.0): False,
        ("lte", 10.0002): False,
        ("nr", 10.0003): True,
        ("nr", 10.5): False,
    }


def test_a_phone_located_again_after_relocate_s_carries_the_same_track():
    """One GSM phone heard by A0-1 and A1-1 every second: located at once, then again only after
    `relocate_s` from the bursts held meanwhile, both sightings marked as the same phone for the incidents."""
    from controller.locating import SiteLocating

    locating = SiteLocating(load_site(small_site_path()), delay_s=0.1, relocate_s=5.0)
    sightings = []
    for second in range(8):
        for sensor, level in (("A0-1", -55.0), ("A1-1", -70.0)):
            burst = {897.4: [second + 0.1]}
            locating.add_reports(sensor, _reports(1.0, burst, start_s=second, level=level), T + second + 1.01)
        sightings += locating.ready(T + second + 1.2)
    assert [round(s.start_s - T, 1) for s in sightings] == [0.1, 1.1], "averaged from the 5 s held since"
    assert sightings[0].track is not None and sightings[0].track == sightings[1].track
    assert sightings[1].end_s - T == pytest.approx(5.1 + 546e-6, abs=1e-3)


def test_what_the_locator_remembers_of_each_phone_does_not_grow_with_time():
    """Fading changes which sensors hear a phone, and each set is remembered for `relocate_s`: a long run
    must not keep every set it ever saw (the controller's memory grew by 30 MB a minute at 228 sensors)."""
    from controller.locating import SiteLocating

    locating = SiteLocating(load_site(small_site_path()), delay_s=0.1, relocate_s=5.0)
    remembered = []
    for second in range(60):
        channel = {880.2 + 0.2 * second: [second + 0.1]}  # reported without operators: each channel its own phone
        for sensor in ("A0-1", "A1-1"):
            report = _reports(1.0, channel, start_s=second, operators=[], burst_count=30)
            locating.add_reports(sensor, report, T + second + 1.01)
        locating.add_reports("A0-2", _reports(1.0, {}, start_s=second), T + second + 1.01)
        locating.ready(T + second + 1.2)
        remembered.append(
            (
                len(locating._located_at),
                sum(map(len, locating._unlisted._spans.values())),
                len(locating._sensor_heard),
            )
        )
    assert max(located for located, _, _ in remembered) <= 8, remembered
    assert max(unlisted for _, unlisted, _ in remembered) <= 35, "spans of unlisted bursts are forgotten"
    assert max(networks for _, _, networks in remembered) <= 15, "who heard which network lately is forgotten"


def test_an_lte_allocation_off_the_channel_raster_keeps_its_reports_band_and_operators():
    """An LTE burst's centre lies anywhere in its 200 kHz report channel (PRBs are on a 180 kHz raster): its
    sighting must still carry the band and operators of the report it came in, or the phone's allocations
    become as many phones (incidents matched by channel) and its own blocker goes unrecognised."""
    from controller.locating import SiteLocating

    locating = SiteLocating(load_site(small_site_path()), delay_s=0.0)
    for sensor, level in (("A0-1", -55.0), ("A1-1", -70.0)):
        batch = _reports(1.0, {883.0: [0.1]}, level=level)
        lte = [
            replace(
                r,
                **{
                    "technology": "lte",
                    "bursts": [replace(b, technology="lte", freq_hz=883.061e6) for b in r.bursts],
                },
            )
            for r in batch.reports
        ]
        locating.add_reports(sensor, batch.model_copy(update={"reports": lte}), T + 1.01)
    (sighting,) = locating.ready(T + 1.2)
    assert (sighting.technology, sighting.band, sighting.operators) == ("lte", "B8", ("Vodafone",))
    assert sighting.received_at == T + 1.01


def test_phones_of_one_operator_in_two_bands_are_two_phones_to_the_locator():
    """O2 in B8 and O2 in B3, heard by the same sensors in the same second: a phone does not send in two
    bands at once, so both are located (as one phone, the second would wait `relocate_s` and be lost)."""
    from controller.locating import SiteLocating

    locating = SiteLocating(load_site(small_site_path()), delay_s=0.0)
    for sensor, level in (("A0-1", -55.0), ("A1-1", -70.0)):
        batch = _reports(1.0, {905.8: [0.1], 1710.2: [0.3]}, level=level)
        located = [replace(r, band="B8" if r.freq_hz < 1e9 else "B3", operators=["O2"]) for r in batch.reports]
        locating.add_reports(sensor, batch.model_copy(update={"reports": located}), T + 1.01)
    sightings = locating.ready(T + 1.2)
    assert sorted((s.band, s.operators) for s in sightings) == [("B3", ("O2",)), ("B8", ("O2",))]
    assert sightings[0].track != sightings[1].track


@pytest.mark.parametrize(
    ("second", "one_place"),
    [
        ({"PER-S": -45.0, "HUB1": -60.0, "HUB0": -88.0, "A0-1": -92.0}, False),
        ({"A1-1": -45.0, "A0-1": -60.0, "HUB0": -88.0}, True),
    ],
)
def test_two_calls_of_one_operator_in_one_frame_are_two_phones_in_one_place_only_when_they_may_share_it(
    second, one_place
):
    """O2 bursts on two ARFCNs 1.5 ms apart, HUB0 hearing both: two phones. A frame group (devices=2, located
    together, kept apart by the incident engine) only when the loudest sensor of one is among the two loudest
    of the other: two calls are on the air in every frame, so two phones at opposite ends of the site would
    otherwise look like two in one place and split every sighting of each into incidents of their own."""
    from controller.locating import SiteLocating

    locating = SiteLocating(load_site(small_site_path()), delay_s=0.0)
    first = {"A0-1": -40.0, "A1-1": -55.0, "HUB0": -85.0}
    for mhz, start, levels in ((905.8, 0.1, first), (906.4, 0.1015, second)):
        for sensor, level in levels.items():
            locating.add_reports(sensor, _reports(1.0, {mhz: [start]}, level=level, operators=["O2"]), T + 1.01)
    sightings = locating.ready(T + 1.2)
    assert sorted(s.freq_hz for s in sightings) == pytest.approx([905.8e6, 906.4e6])
    assert [s.devices for s in sightings] == ([2, 2] if one_place else [1, 1])
    groups = [set(s.frame_groups) for s in sightings]
    assert (groups[0] & groups[1] != set()) if one_place else groups == [set(), set()]


def test_bursts_held_long_before_are_not_averaged_into_a_later_location():
    """The same two sensors hear the network in windows 0-4 (located once, then held: `relocate_s`), then
    nothing until window 40. What they heard 36 s earlier may be another phone: the location at 40 s is made
    from what was held within relocate_s, and its first burst is its own (a stale start became an incident's
    first_seen 14 s before its phone was on the air)."""
    from controller.locating import SiteLocating

    locating = SiteLocating(load_site(small_site_path()), delay_s=0.0)
    sightings = []
    for window in (0, 1, 2, 3, 4, 40):
        for sensor, level in (("A0-1", -55.0), ("A1-1", -70.0)):
            locating.add_reports(
                sensor, _reports(1.0, {897.4: [window + 0.1]}, start_s=window, level=level), T + window + 1.01
            )
        sightings += locating.ready(T + window + 1.2)
    assert [round(s.start_s - T, 3) for s in sightings] == [0.1, 40.1]


def _second_window_sightings(max_delay_s: float) -> tuple[list[set[str]], int]:
    """Three sensors hear a steady phone; each window's reports arrive 0.01, 0.2 and 0.41 s after it ends
    (a loaded network, or many sensors publishing one after another). Who was heard in each sighting of
    the second window, with the locator polled every 50 ms, and how many bursts came as stragglers."""
    from controller.locating import SiteLocating

    locating = SiteLocating(load_site(small_site_path()), delay_s=0.1, max_delay_s=max_delay_s, relocate_s=0.0)
    arrivals = sorted(
        (window + 1.0 + lag, sensor, window)
        for window in (0.0, 1.0)
        for sensor, lag in (("A0-1", 0.01), ("A1-1", 0.2), ("HUB0", 0.41))
    )
    sightings = []
    now = 1.0
    while now < 3.5:
        while arrivals and arrivals[0][0] <= now:
            at, sensor, window = arrivals.pop(0)
            locating.add_reports(sensor, _reports(1.0, {897.4: [window + 0.0102]}, start_s=window), T + at)
        sightings += locating.ready(T + now)
        now += 0.05
    return [set(s.sensor_powers_dbm) for s in sightings if s.start_s >= T + 1.0], locating.stragglers


def test_once_reports_have_straggled_the_locator_waits_for_all_of_a_window_before_locating():
    # the first window's late reports straggle (2 bursts) while the wait learns their spread; not the second's
    assert _second_window_sightings(max_delay_s=1.0) == ([{"A0-1", "A1-1", "HUB0"}], 2)
    split, stragglers = _second_window_sightings(max_delay_s=0.1)
    assert split == [{"A0-1"}], "a fixed 0.1 s wait locates the emission from the first report alone"
    assert stragglers == 4, "the late sensors' bursts of both windows are stragglers, not emissions of their own"


def _listening_spy(locating) -> list:
    """The emissions the locator is handed, recorded."""
    handed = []
    locate = locating.locator.locate
    locating.locator.locate = lambda emission: (handed.append(emission), locate(emission))[1]
    return handed


def test_a_burst_most_hearers_did_not_list_is_not_placed_by_the_few_that_did():
    """A0-1 and HUB0 report a call's window, 24 bursts, listing the first 8 (all the controller takes); A1-1,
    whose window began at a cut, lists a burst later in the window. Located from A1-1 with A0-1 and HUB0 as
    misses, it would be a phone beside A1-1 (in the demo, a phone outside the wall placed in a cell)."""
    from controller.locating import SiteLocating

    locating = SiteLocating(load_site(small_site_path()), delay_s=0.1)
    call = [0.51 + 0.004615 * i for i in range(8)]
    for sensor in ("A0-1", "HUB0"):
        locating.add_reports(sensor, _reports(1.0, {897.4: call}, start_s=0.5, burst_count=24, level=-50.0), T + 1.51)
    locating.add_reports("A1-1", _reports(0.5, {897.4: [1.2]}, start_s=1.0, level=-80.0), T + 1.51)
    assert [round(s.start_s - T, 3) for s in locating.ready(T + 1.7)] == [0.51], "the call's first burst only"


def test_a_sensor_that_heard_a_burst_without_listing_it_is_not_counted_as_a_miss():
    """A0-1 lists the first 8 of its window's 24 bursts; A1-1 and HUB0 list one after those."""
    from controller.locating import SiteLocating

    locating = SiteLocating(load_site(small_site_path()), delay_s=0.1)
    handed = _listening_spy(locating)
    call = [0.01 + 0.004615 * i for i in range(8)]
    locating.add_reports("A0-1", _reports(1.0, {897.4: call}, burst_count=24, level=-50.0), T + 1.01)
    for sensor in ("A1-1", "HUB0"):
        locating.add_reports(sensor, _reports(0.5, {897.4: [0.6]}, start_s=0.5, level=-80.0), T + 1.01)
    sightings = locating.ready(T + 1.2)
    assert [round(s.start_s - T, 3) for s in sightings] == [0.6], "the channel's emission heard by the most sensors"
    (emission,) = handed
    assert emission.listening == {"A1-1", "HUB0", "HUB1", "PER-S"}, "A0-1 may have heard it: neither heard nor missed"


def test_a_sensor_whose_report_of_the_window_is_still_on_the_way_is_not_counted_as_a_miss():
    """Every sensor reported the window before; A0-1 and A1-1 report the next, HUB0's report of it has not come
    in when the horizon passes. HUB0 is neither hearer nor miss (counted as a miss, a phone it hears loud
    would be pushed away from it); HUB1 and PER-S, which reported nothing lately, are misses as before."""
    from controller.locating import SiteLocating

    locating = SiteLocating(load_site(small_site_path()), delay_s=0.1)
    handed = _listening_spy(locating)
    for sensor in ("A0-1", "A1-1", "HUB0"):
        locating.add_reports(sensor, _reports(1.0, {899.0: [0.3]}, start_s=0.0), T + 1.01)
    assert len(locating.ready(T + 1.2)) == 1
    for sensor, level in (("A0-1", -50.0), ("A1-1", -70.0)):
        locating.add_reports(sensor, _reports(1.0, {897.4: [1.5]}, start_s=1.0, level=level), T + 2.01)
    (sighting,) = locating.ready(T + 2.2)
    assert round(sighting.start_s - T, 3) == 1.5
    assert handed[-1].listening == {"A0-1", "A1-1", "HUB1", "PER-S"}


def test_a_cut_from_a_few_sensors_waits_while_most_sensors_hear_the_network_without_cutting():
    """Three sensors have heard the network lately, so they do not cut their windows for it; A1-1, to which the
    phone is new, cuts, and hears it loud enough to pass for a phone beside it. In the demo a phone outside
    the wall, heard for a minute by forty sensors, was new to two far ones: located at once from those two,
    with the forty counted as misses, it landed in a cell. The three are neither hearers nor misses, and
    with most of the site's sensors unknown the cut waits for everyone's window."""
    from controller.locating import SiteLocating

    locating = SiteLocating(load_site(small_site_path()), delay_s=0.1)
    for sensor in ("A0-1", "HUB0", "HUB1"):
        locating.add_reports(sensor, _reports(1.0, {897.0: [-2.9]}, start_s=-3.0), T - 1.99)
    assert len(locating.ready(T - 1.8)) == 1
    locating.add_reports("A1-1", _reports(0.225, {897.2: [0.1453]}, cut_early=True, level=-70.0), T + 0.235)
    assert locating.ready(T + 0.4) == [], "not located from one far sensor's cut while three hear the network"
    for sensor in ("A0-1", "HUB0", "HUB1"):
        locating.add_reports(sensor, _reports(1.0, {897.2: [0.1453]}, level=-55.0), T + 1.01)
    locating.add_reports("A1-1", _reports(0.775, {}, start_s=0.225), T + 1.01)
    (sighting,) = locating.ready(T + 1.2)
    assert set(sighting.sensor_powers_dbm) == {"A0-1", "A1-1", "HUB0", "HUB1"}


def test_a_burst_labelled_otherwise_than_its_report_keeps_the_reports_band_and_operators():
    """An IQ node took a weak NR burst for LTE inside a report it labelled NR (the channel's majority): the
    sighting still names the report's band and operators, or it is an incident of no network that nothing
    already placed can continue (the demo opened a dozen such in wing A)."""
    from controller.locating import SiteLocating

    locating = SiteLocating(load_site(small_site_path()), delay_s=0.0)
    for sensor in ("A0-1", "A1-1"):
        batch = _reports(1.0, {883.0: [0.1]}, operators=["Vodafone"])
        mixed = [
            replace(
                r,
                **{
                    "technology": "nr",
                    "bursts": [replace(b, technology="lte") for b in r.bursts],
                },
            )
            for r in batch.reports
        ]
        locating.add_reports(sensor, batch.model_copy(update={"reports": mixed}), T + 1.01)
    (sighting,) = locating.ready(T + 1.2)
    assert (sighting.technology, sighting.band, sighting.operators) == ("lte", "B8", ("Vodafone",))


RB = RESOURCE_BLOCK_HZ
PUSCH = (0.0, 3e-3, 1760e6, 6 * RB)  # start, end, centre, bandwidth


@pytest.mark.parametrize(
    ("other", "two_phones", "why"),
    [
        ((1e-3, 2e-3, 1760e6 + 10 * RB, 4 * RB), True, "another allocation at the same time, well apart"),
        ((3e-3, 4e-3, 1760e6 + 10 * RB, 4 * RB), False, "one after the other: the same phone's next grant"),
        ((2.9e-3, 4e-3, 1760e6 + 10 * RB, 4 * RB), False, "overlapping by less than a detector's edge smear"),
        ((1e-3, 2e-3, 1760e6 + 25 * RB, RB), False, "a one-block PUCCH beside the PUSCH (Rel-10): one phone"),
        ((1e-3, 2e-3, 1760e6 + 5.5 * RB, 4 * RB), False, "half a block apart: one PUSCH split by a fading dip"),
        ((1e-3, 2e-3, 1760e6 + 2 * RB, 4 * RB), False, "overlapping in frequency"),
    ],
)
def test_two_lte_allocations_are_two_phones_only_when_one_phone_cannot_send_both(other, two_phones, why):
    assert apart_at_once(PUSCH, other) is two_phones, why
    assert apart_at_once(other, PUSCH) is two_phones, why


def test_window_ends_are_rounded_to_the_millisecond_as_python_rounds_them():
    """The ends of one window must compare equal whichever way they were computed: numpy's rounding scales by
    1000 first, and at epoch magnitudes about one end in twenty-five that is near half a millisecond then rounds
    the other way from Python's."""
    from controller.locating import _window_ends_s

    start_s = [1800000099.2215, 1800000059.4305, 1800000099.2215, 1800000036.0115]
    window_s = [0.5, 0.0, 0.5, 0.5]
    expected = [round(start + window, 3) for start, window in zip(start_s, window_s, strict=True)]
    assert _window_ends_s(start_s, window_s) == expected
    assert np.round(np.add(start_s, window_s), 3).tolist() != expected, "these ends are where the two roundings differ"


def test_warming_up_compiles_the_kernel_that_reads_burst_times() -> None:
    """In a fresh interpreter: the first batch must not compile it (or load it from numba's cache)."""
    probe = (
        "from cellward.messages.wire_time_kernel import epoch_s\n"
        "from cellward.messages.wire_time import texts_epoch_s\n"
        "from cellward.site import load_site, small_site_path\n"
        "from controller.locating import SiteLocating\n"
        "assert not epoch_s.signatures, 'compiled on import'\n"
        "SiteLocating(load_site(small_site_path()), delay_s=0.0).warm_up()\n"
        "warm = len(epoch_s.signatures)\n"
        "texts_epoch_s(['2026-12-06T21:00:00.123Z'], 3)\n"
        "texts_epoch_s(['2026-12-06T21:00:00.123456Z'], 6)\n"
        "print(warm, len(epoch_s.signatures))\n"
    )
    assert run_fresh(probe).split() == ["1", "1"], "compiled by the warm-up, and nothing more for either resolution"
