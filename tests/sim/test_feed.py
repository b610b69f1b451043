"""IQ mode: each sensor's samples carry every in-band burst at its true time and at its truth level."""

from __future__ import annotations

import numpy as np
import pytest

from sim.feed import SensorFeed
from sim.world import World

FS = 2.4e6
LEVEL_TOLERANCE_DB = 1.5  # receiver IQ imbalance (<0.3 dB), noise subtraction, fading already in the truth
PHONE = """\
name: t
seed: 11
duration_s: 1.0
phones:
  - id: p
    {network}
    place: {{position: [{x}, {y}, 1.5]}}
    tx_power_dbm: {tx}
    activities: [{{kind: {kind}, start_s: 0.0, duration_s: 1.0}}]
"""


def world_at(make_world, kind: str, network: str, rx_dbm: float, sensor: int, x: float = 30.0, y: float = 20.0):
    """A one-phone world whose phone arrives near `rx_dbm` (before fading) at sensor index `sensor`."""
    probe = make_world(PHONE.format(network=network, x=x, y=y, tx=0.0, kind=kind))
    gain = float(probe.link_gain_db(np.array([0]), sensor)[0])
    return make_world(PHONE.format(network=network, x=x, y=y, tx=round(rx_dbm - gain, 2), kind=kind))


def lone_in_band_bursts(world: World, centre: float, seconds: float) -> list[int]:
    """Bursts wholly inside the flat part of the capture's band that overlap no other burst."""
    ids = world.overlapping(0.0, seconds, centre - FS / 2, centre + FS / 2)
    b = world.bursts
    inside = np.abs(b.freq_hz[ids] - centre) + b.bandwidth_hz[ids] / 2 < 0.8 * FS / 2
    start, end = b.start_s[ids], b.start_s[ids] + b.duration_s[ids]
    alone = [
        k for k in range(len(ids)) if not np.any((start < end[k] + 1e-4) & (end > start[k] - 1e-4) & (ids != ids[k]))
    ]
    return [int(ids[k]) for k in alone if inside[k] and end[k] < seconds]


def measured_dbm(world: World, feed: SensorFeed, x: np.ndarray, burst: int) -> float:
    """Burst power from the samples: mean |x|^2 over its span minus the noise, referred to dBm."""
    b = world.bursts
    lsb = (x - x.mean()) * 127.5
    power = np.abs(lsb) ** 2
    a = round(b.start_s[burst] * FS)
    z = round((b.start_s[burst] + b.duration_s[burst]) * FS)
    busy = np.zeros(x.size, bool)
    for i in world.overlapping(0.0, x.size / FS):
        busy[max(0, round(b.start_s[i] * FS) - 50) : round((b.start_s[i] + b.duration_s[i]) * FS) + 50] = True
    noise = power[~busy].mean()
    signal_lsb2 = power[a:z].mean() - noise
    density = feed.receiver.noise_density(FS)
    return float(world.noise_dbm(feed.sensor, 1.0) + 10 * np.log10(signal_lsb2 / density))


def clipping_dbm(world: World, feed: SensorFeed) -> float:
    """Level whose rms is a third of the 8-bit ADC's 127.5 LSB swing (OFDM peaks ~3x rms would clip)."""
    return float(world.noise_dbm(feed.sensor, 1.0) + 10 * np.log10((127.5 / 3) ** 2 / feed.receiver.noise_density(FS)))


@pytest.mark.parametrize(
    ("kind", "network"),
    [("gsm_call", "band: B8\n    operator: Vodafone"), ("lte_data", "band: B20\n    operator: Three")],
)
def test_burst_energy_at_each_sensor_matches_its_truth_power(make_world, kind: str, network: str) -> None:
    world = world_at(make_world, kind, network, -85.0, 0)
    centre = world.emitters[0].carrier_hz
    checked = 0
    for sensor in world.sensors[:2]:
        feed = SensorFeed(world, sensor.id)
        x = feed.read(centre, FS, 0.0, round(1.0 * FS))
        truth = {r["burst_id"]: r["rx_power_dbm"][sensor.id] for r in world.truth()}
        for burst in lone_in_band_bursts(world, centre, 1.0):
            if truth[burst] - float(world.noise_dbm(feed.sensor, world.bursts.bandwidth_hz[burst])) < 15:
                continue  # the tolerance is stated for high SNR
            if truth[burst] > clipping_dbm(world, feed):
                continue  # and below the ADC's clipping, where no receiver measures power
            got = measured_dbm(world, feed, x, burst)
            assert got == pytest.approx(truth[burst], abs=LEVEL_TOLERANCE_DB), (
                f"burst {burst} ({world.bursts.channel[burst]}) at {sensor.id}: IQ says {got:.2f} dBm, "
                f"truth {truth[burst]:.2f} dBm, tolerance {LEVEL_TOLERANCE_DB} dB"
            )
            checked += 1
    assert checked >= 10, f"only {checked} bursts were checked; the scenario should give dozens"


def test_the_same_burst_arrives_at_the_same_sample_at_two_sensors_at_its_geometrys_levels(make_world) -> None:
    world = world_at(make_world, "gsm_call", "band: B8\n    operator: Vodafone", -80.0, 0, x=10.0, y=10.0)
    centre = world.emitters[0].carrier_hz
    a, b = (SensorFeed(world, s.id) for s in world.sensors[:2])
    xa, xb = a.read(centre, FS, 0.0, round(0.25 * FS)), b.read(centre, FS, 0.0, round(0.25 * FS))
    bursts = lone_in_band_bursts(world, centre, 0.25)
    truth = {r["burst_id"]: r["rx_power_dbm"] for r in world.truth(0, 0.25)}
    offsets, edges = [], []
    for burst in bursts[:20]:
        start = round(world.bursts.start_s[burst] * FS)
        found = []
        for x in (xa, xb):
            smooth = np.convolve(np.abs(x[start - 300 : start + 1700] - x.mean()) ** 2, np.ones(8) / 8, "same")
            half = 0.5 * np.median(smooth[450:1500])
            rise, fall = int(np.argmax(smooth > half)), 1500 + int(np.argmax(smooth[1500:] < half))
            found.append((rise - 300, fall - 300))  # the half-power points of the ramps up and down
        offsets += [found[0][0] - found[1][0], found[0][1] - found[1][1]]
        edges.append(found[0][0])
        difference = measured_dbm(world, a, xa, burst) - measured_dbm(world, b, xb, burst)
        expected = truth[burst][a.sensor_id] - truth[burst][b.sensor_id]
        assert difference == pytest.approx(expected, abs=1.0), "level difference between sensors = geometry's"
    assert abs(np.mean(offsets)) <= 1.0 and max(map(abs, offsets)) <= 6, (
        f"edge offsets (samples) between the two sensors, noise-limited one by one, zero on average: {offsets}"
    )
    # the half-power point of the 3-bit ramp is ~13 samples before the first bit; the receiver's 63-tap
    # passband filter delays everything by 31 samples at every sensor alike
    assert all(abs(edge - (31 - 13)) <= 8 for edge in edges), f"edges (samples from the true start): {edges}"


def test_reads_are_deterministic_and_bursts_outside_the_tuning_are_not_made(make_world) -> None:
    world = world_at(make_world, "gsm_call", "band: B8\n    operator: Vodafone", -80.0, 0)
    feed = SensorFeed(world, world.sensors[0].id)
    centre = world.emitters[0].carrier_hz
    first, again = feed.read(centre, FS, 0.1, 24000), feed.read(centre, FS, 0.1, 24000)
    assert np.array_equal(first, again), "same world, sensor, tuning and window: the same samples"
    away = feed.read(centre + 20e6, FS, 0.1, 24000)
    assert np.std(np.abs(away)) < 0.5 * np.std(np.abs(first)), "tuned 20 MHz away: noise only"
    assert world.overlapping(0.1, 0.11, centre + 19e6, centre + 21e6).size == 0


def test_an_unknown_sensor_is_named(make_world) -> None:
    world = world_at(make_world, "gsm_call", "band: B8", -80.0, 0)
    with pytest.raises(KeyError, match="sensor 'nope' is not in site"):
        SensorFeed(world, "nope")


def test_a_blocker_unit_fills_its_bands_downlink_with_noise_and_leaves_the_uplink(make_world) -> None:
    world = make_world("name: b\nseed: 1\nduration_s: 1\nblockers: [{unit: BLK-A, start_s: 0.5, power_dbm: 10}]\n")
    assert sorted(e.id for e in world.emitters) == ["BLK-A/B3", "BLK-A/B8"]
    b8 = next(e for e in world.emitters if e.id == "BLK-A/B8")
    assert b8.carrier_hz == pytest.approx(942.5e6), "B8 downlink 925-960 MHz"
    feed = SensorFeed(world, world.sensors[0].id)
    before, during = (feed.read(942.5e6, FS, t, 24000) for t in (0.2, 0.7))
    assert np.mean(np.abs(during) ** 2) > 10 * np.mean(np.abs(before) ** 2), "noise floor raised when on"
    uplink = feed.read(897.5e6, FS, 0.7, 24000)
    assert np.mean(np.abs(uplink) ** 2) < 2 * np.mean(np.abs(before) ** 2), "the uplink band stays clear"


def test_a_blocker_run_for_a_unit_the_site_lacks_is_named(make_world) -> None:
    with pytest.raises(ValueError, match="blocker 'BLK-9' is not in site"):
        make_world("name: b\nseed: 1\nduration_s: 1\nblockers: [{unit: BLK-9}]\n")


def test_the_tuner_crystal_error_shifts_emissions_and_frequency_correction_undoes_it(make_world) -> None:
    world = make_world(
        "name: cw\nseed: 2\nduration_s: 1\n"
        "emitters: [{id: spur, kind: cw, place: {position: [9, 1, 1.5]}, freq_hz: 900.1e6, power_dbm: -60}]\n"
    )
    feed = SensorFeed(world, world.sensors[0].id)
    n = 1 << 16
    resolution_hz = FS / n

    def peak_hz() -> float:
        x = feed.read(900e6, FS, 0.5, n)
        spectrum = np.abs(np.fft.fft((x - x.mean()) * np.hanning(n))) ** 2
        return float(np.fft.fftfreq(n, 1 / FS)[np.argmax(spectrum)])

    ppm = world.receivers[feed.sensor].ppm
    assert abs(peak_hz() - (100e3 - ppm * 1e-6 * 900e6)) < 1.2e3 + resolution_hz, "a fast crystal sees it lower"
    feed.ppm_correction = ppm
    assert abs(peak_hz() - 100e3) < 1.2e3 + resolution_hz, "corrected: the spur at its true offset (+-its drift)"


def test_tuner_gain_moves_signal_and_noise_together(make_world) -> None:
    world = make_world(
        "name: cw\nseed: 2\nduration_s: 1\n"
        "emitters: [{id: spur, kind: cw, place: {position: [9, 1, 1.5]}, freq_hz: 900.1e6, power_dbm: -75}]\n"
    )
    feed = SensorFeed(world, world.sensors[0].id)
    nominal = np.mean(np.abs(feed.signal_lsb(900e6, FS, 0.5, 24000)) ** 2)
    feed.gain_db = 6.0
    raised = np.mean(np.abs(feed.signal_lsb(900e6, FS, 0.5, 24000)) ** 2)
    assert 10 * np.log10(raised / nominal) == pytest.approx(6.0, abs=0.01), "+6 dB of tuner gain: +6 dB at the ADC"


@pytest.mark.parametrize("gain_db", [19.7, 29.7, 40.2])
def test_a_node_calibrated_for_its_simulated_dongle_reads_each_burst_at_its_truth_level(make_world, gain_db) -> None:
    """The detector's dBFS plus the power calibration `dbfs_to_dbm_at_0db` gives for this dongle is the truth
    level, at any gain below clipping; with the -12 dBm of a typical R820T2 (the node's default) it reads
    about 20 dB high, which is what the demo's IQ-mode nodes did."""
    from dsp.detector import Detector
    from sensors.gain import PowerCalibration
    from sim.feed import simulated_dongle_calibration

    world = world_at(make_world, "gsm_call", "band: B8\n    operator: Vodafone", -80.0, 0)
    carrier = world.emitters[0].carrier_hz
    centre = carrier + 600e3  # the channel away from the dongle's DC spike, as the node's scan tunes
    feed = SensorFeed(world, world.sensors[0].id)
    feed.set_tuner_gain(gain_db)
    x = feed.read(centre, FS, 0.0, round(0.5 * FS))
    detector = Detector(FS, centre)
    dbfs = [b.power_dbfs for b in detector.process(x) + detector.flush() if abs(b.freq_hz - carrier) < 100e3]
    truth = [r["rx_power_dbm"][feed.sensor_id] for r in world.truth(0.0, 0.5) if r["freq_hz"] == carrier]
    assert len(dbfs) >= 0.8 * len(truth) >= 20
    calibrated = float(np.median(dbfs)) + PowerCalibration(
        dbfs_to_dbm_at_0db=simulated_dongle_calibration(world.site, world.seed, feed.sensor_id, FS)
    ).calibration_db(gain_db)
    assert calibrated == pytest.approx(float(np.median(truth)), abs=2.0)
    typical = float(np.median(dbfs)) + PowerCalibration().calibration_db(gain_db)
    assert typical - float(np.median(truth)) > 15.0
