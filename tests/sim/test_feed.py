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
    edges = []
    for burst in bursts[:20]:
        start = round(world.bursts.start_s[burst] * FS)
        for x in (xa, xb):
            envelope = np.convolve(np.abs(x - x.mean()) ** 2, np.ones(8) / 8, "same")[start - 200 : start + 200]
            edges.append(int(np.argmax(envelope > 0.5 * np.median(envelope[250:390]))) - 200)
        difference = measured_dbm(world, a, xa, burst) - measured_dbm(world, b, xb, burst)
        expected = truth[burst][a.sensor_id] - truth[burst][b.sensor_id]
        assert difference == pytest.approx(expected, abs=1.0), "level difference between sensors = geometry's"
    pairs = np.array(edges).reshape(-1, 2)
    assert np.all(np.abs(pairs[:, 0] - pairs[:, 1]) <= 3), f"rising edges (samples) at the two sensors: {pairs}"
    # the half-power point of the 3-bit ramp is ~13 samples before the first bit; the receiver's 63-tap
    # passband filter delays everything by 31 samples at every sensor alike
    assert np.all(np.abs(pairs - (31 - 13)) <= 8), f"edges (samples from the true start): {pairs}"


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
    world = make_world("name: b\nseed: 1\nduration_s: 1\nblockers: [{unit: BLK-1, start_s: 0.5, power_dbm: 10}]\n")
    assert sorted(e.id for e in world.emitters) == ["BLK-1/B20", "BLK-1/B8"]
    b8 = next(e for e in world.emitters if e.id == "BLK-1/B8")
    assert b8.carrier_hz == pytest.approx(942.5e6), "B8 downlink 925-960 MHz"
    feed = SensorFeed(world, "s1")
    before, during = (feed.read(942.5e6, FS, t, 24000) for t in (0.2, 0.7))
    assert np.mean(np.abs(during) ** 2) > 10 * np.mean(np.abs(before) ** 2), "noise floor raised when on"
    uplink = feed.read(897.5e6, FS, 0.7, 24000)
    assert np.mean(np.abs(uplink) ** 2) < 2 * np.mean(np.abs(before) ** 2), "the uplink band stays clear"


def test_a_blocker_run_for_a_unit_the_site_lacks_is_named(make_world) -> None:
    with pytest.raises(ValueError, match="blocker 'BLK-9' is not in site"):
        make_world("name: b\nseed: 1\nduration_s: 1\nblockers: [{unit: BLK-9}]\n")
