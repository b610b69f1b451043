import numpy as np
import pytest

from dsp.noise_floor import FloorMemory, NoiseFloor
from dsp.spectrum import SpectrumGeometry, power_spectra
from tests.dsp.synthetic import Rect, noise, scene

FS = 2.4e6
GEOMETRY = SpectrumGeometry.for_rate(FS)


def spectra_of(x: np.ndarray) -> np.ndarray:
    out = np.empty((GEOMETRY.frames_in(len(x)), GEOMETRY.nfft), np.float32)
    power_spectra(x, GEOMETRY.window(), GEOMETRY.hop, out)
    return out


def tracked_floor(x: np.ndarray) -> tuple[NoiseFloor, np.ndarray]:
    spectra = spectra_of(x)
    floor = NoiseFloor(GEOMETRY.nfft)
    z = np.empty_like(spectra)
    floor.normalise(spectra, z)
    return floor, z


def test_floor_of_white_noise_is_unbiased() -> None:
    noise_power = 1e-4
    floor, z = tracked_floor(noise(int(FS), noise_power, np.random.default_rng(1)))
    per_bin = noise_power / GEOMETRY.nfft
    ratio_db = 10 * np.log10(np.median(floor.mean_power_per_bin()) / per_bin)
    assert abs(ratio_db) < 0.15, f"floor off by {ratio_db:.2f} dB on white noise"
    assert abs(float(z[-5000:].mean()) - 1.0) < 0.02, "normalised noise must have unit mean"


def test_floor_follows_a_slow_rise_in_noise() -> None:
    rng = np.random.default_rng(2)
    x = np.concatenate([noise(int(0.5 * FS), 1e-4, rng), noise(int(1.0 * FS), 2e-4, rng)])
    floor, _ = tracked_floor(x)
    ratio_db = 10 * np.log10(np.median(floor.mean_power_per_bin()) * GEOMETRY.nfft / 2e-4)
    assert abs(ratio_db) < 0.3, f"floor did not follow a 3 dB rise within 1 s: off by {ratio_db:.2f} dB"


def test_bursts_do_not_pull_the_floor_up() -> None:
    # a GSM-like call: 0.55 ms every 4.6 ms, 20 dB, over the same 200 kHz for a second
    rects = [Rect(t, 0.00055, 200e3, 200e3, 20.0) for t in np.arange(0.01, 1.0, 0.004615)]
    floor, _ = tracked_floor(scene(FS, 1.0, rects, noise_power=1e-4, seed=3))
    bins = GEOMETRY.nfft // 2 + np.arange(-8, 9) + round(200e3 / GEOMETRY.bin_hz)
    rise_db = 10 * np.log10(floor.mean_power_per_bin()[bins].mean() * GEOMETRY.nfft / 1e-4)
    assert rise_db < 0.3, f"a 12 % duty-cycle call raised the floor by {rise_db:.2f} dB"


@pytest.mark.parametrize(("bandwidth_hz", "snr_db"), [(540e3, 15.0), (180e3, 8.0), (180e3, 6.0)])
def test_continuous_phone_does_not_pull_the_floor_up(bandwidth_hz: float, snr_db: float) -> None:
    # a weak one too: its cells' six-cell means dip under the gate often enough that the floor rose to meet it
    # (6-8 dB in 0.4 s at 6-8 dB): it was reported in fifty pieces, then not at all
    rng = np.random.default_rng(4)
    quiet = noise(int(0.2 * FS), 1e-4, rng)
    busy = scene(FS, 2.0, [Rect(0.0, 2.0, -300e3, bandwidth_hz, snr_db)], noise_power=1e-4, seed=5)
    floor, _ = tracked_floor(np.concatenate([quiet, busy]))
    half_width = round(0.4 * bandwidth_hz / GEOMETRY.bin_hz)
    bins = GEOMETRY.nfft // 2 + round(-300e3 / GEOMETRY.bin_hz) + np.arange(-half_width, half_width + 1)
    rise_db = 10 * np.log10(floor.mean_power_per_bin()[bins].mean() * GEOMETRY.nfft / 1e-4)
    assert rise_db < 1.0, f"2 s of continuous transmission at {snr_db} dB raised the floor by {rise_db:.2f} dB"


DWELL_S = 0.09
PHONE_BINS = GEOMETRY.nfft // 2 + round(-300e3 / GEOMETRY.bin_hz) + np.arange(-20, 21)


def seeded_floor_db(x: np.ndarray, memory: FloorMemory | None, noise_power: float) -> np.ndarray:
    """Per-bin floor (dB over the true per-bin noise) with which a dwell of samples `x` starts."""
    floor = NoiseFloor(GEOMETRY.nfft, memory=memory)
    floor.seed(spectra_of(x))
    return 10 * np.log10(floor.mean_power_per_bin() * GEOMETRY.nfft / noise_power)


def test_a_dwell_that_starts_busy_is_seeded_from_the_tunings_last_dwells() -> None:
    # a data session on through the first 20 ms of a dwell, 540 kHz wide at 15 dB: more than the seed's 13.6 ms
    busy = scene(FS, DWELL_S, [Rect(0.0, 0.02, -300e3, 540e3, 15.0)], noise_power=1e-4, seed=6)
    alone = seeded_floor_db(busy, None, 1e-4)[PHONE_BINS].mean()
    assert alone > 5.0, f"the busy start should seed the phone's bins high without a memory: {alone:.1f} dB"

    memory = FloorMemory()
    rng = np.random.default_rng(7)
    for _ in range(2):
        seeded_floor_db(noise(int(DWELL_S * FS), 1e-4, rng), memory, 1e-4)
    remembered = seeded_floor_db(busy, memory, 1e-4)
    assert abs(remembered[PHONE_BINS].mean()) < 0.5, f"phone's bins seeded {remembered[PHONE_BINS].mean():.1f} dB off"
    quiet_bins = np.setdiff1d(np.arange(GEOMETRY.nfft), PHONE_BINS)
    assert abs(np.median(remembered[quiet_bins])) < 0.3, "the quiet bins should keep their own seed"


def test_a_real_rise_of_the_floor_is_taken_up_once_it_holds_in_most_remembered_dwells() -> None:
    memory, rng = FloorMemory(), np.random.default_rng(8)
    for _ in range(memory.depth):
        seeded_floor_db(noise(int(DWELL_S * FS), 1e-4, rng), memory, 1e-4)
    after_rise = [np.median(seeded_floor_db(noise(int(DWELL_S * FS), 4e-4, rng), memory, 4e-4)) for _ in range(4)]
    assert all(level < -5.0 for level in after_rise[:3]), f"held back while most dwells remember less: {after_rise}"
    assert abs(after_rise[3]) < 0.3, f"a 6 dB rise should be taken up at the fourth dwell: {after_rise}"


def test_a_phone_on_through_every_dwell_is_never_learnt_as_floor_but_a_rise_of_the_whole_band_is() -> None:
    memory, rng = FloorMemory(), np.random.default_rng(9)
    for _ in range(2):
        seeded_floor_db(noise(int(DWELL_S * FS), 1e-4, rng), memory, 1e-4)
    phone_bins = []
    for seed in range(10):
        busy = scene(FS, DWELL_S, [Rect(0.0, DWELL_S, -300e3, 540e3, 15.0)], noise_power=1e-4, seed=20 + seed)
        phone_bins.append(round(float(seeded_floor_db(busy, memory, 1e-4)[PHONE_BINS].mean()), 2))
    assert max(map(abs, phone_bins)) < 0.5, (
        f"phone's bins seeded this far off the noise (dB), dwell by dwell: {phone_bins}"
    )
    risen = [np.median(seeded_floor_db(noise(int(DWELL_S * FS), 4e-4, rng), memory, 4e-4)) for _ in range(4)]
    assert abs(risen[3]) < 0.3, f"a 6 dB rise of the whole band is still taken up at the fourth dwell: {risen}"


def test_after_a_gain_change_a_phone_on_as_the_dwell_is_seeded_is_not_taken_for_the_new_floor() -> None:
    """A phone close enough to make the sensor back its gain off is on when the next dwell is seeded."""
    memory, rng = FloorMemory(), np.random.default_rng(10)
    for _ in range(3):
        seeded_floor_db(noise(int(DWELL_S * FS), 4e-4, rng), memory, 4e-4)
    memory.gain_changed()  # 6 dB less: the receiver's noise a quarter of what it was
    busy = scene(FS, DWELL_S, [Rect(0.0, DWELL_S, -300e3, 540e3, 15.0)], noise_power=1e-4, seed=11)
    seeded = seeded_floor_db(busy, memory, 1e-4)
    quiet_bins = np.setdiff1d(np.arange(GEOMETRY.nfft), PHONE_BINS)
    assert abs(seeded[PHONE_BINS].mean()) < 0.5, f"phone's bins seeded {seeded[PHONE_BINS].mean():.1f} dB off the noise"
    assert abs(np.median(seeded[quiet_bins])) < 0.3, "the quiet bins should take the new gain's floor at once"


def test_a_tunings_later_dwells_are_seeded_closer_to_the_noise_than_one_dwell_alone() -> None:
    """A seed from one dwell's first 256 frames is about 14 % off in a bin, one bin in twenty over 20 % low: a long
    strip of noise there passed as a burst whenever an emission's component reached it. The seeds the memory holds
    that agree with each other are averaged in."""
    rng = np.random.default_rng(12)
    alone = [seeded_floor_db(noise(int(DWELL_S * FS), 1e-4, rng), None, 1e-4) for _ in range(5)]
    memory = FloorMemory()
    with_memory = [seeded_floor_db(noise(int(DWELL_S * FS), 1e-4, rng), memory, 1e-4) for _ in range(10)]
    alone_ratio = 10 ** (np.concatenate(alone) / 10)
    pooled_ratio = 10 ** (np.concatenate(with_memory[memory.depth :]) / 10)
    assert np.std(alone_ratio) > 0.12 and np.mean(alone_ratio < 0.8) > 0.02, "one dwell's seed alone"
    assert np.std(pooled_ratio) < 0.08, f"seeds {np.std(pooled_ratio):.3f} off the noise with a full memory"
    assert np.mean(pooled_ratio < 0.8) < 0.01, f"{np.mean(pooled_ratio < 0.8):.4f} of bins seeded over 20 % low"


def test_a_fall_of_the_floor_across_neighbouring_bins_is_taken_at_once_and_kept() -> None:
    """A phone on through a tuning's first dwells is learnt as its floor. Once a dwell starts without it, that
    floor must fall, and stay down: noise cannot be under the noise, so what the memory held there was a signal.
    Forgotten only as the memory turned over, the phone was learnt again as soon as it came back."""
    memory, rng = FloorMemory(), np.random.default_rng(13)

    def phone_on(seed: int) -> np.ndarray:
        return scene(FS, DWELL_S, [Rect(0.0, DWELL_S, -300e3, 540e3, 10.0)], noise_power=1e-4, seed=seed)

    for seed in range(memory.depth):
        seeded_floor_db(phone_on(30 + seed), memory, 1e-4)
    stopped = seeded_floor_db(noise(int(DWELL_S * FS), 1e-4, rng), memory, 1e-4)
    assert abs(float(stopped[PHONE_BINS].mean())) < 0.3, (
        f"seeded {stopped[PHONE_BINS].mean():.1f} dB off once it stopped"
    )
    back = [float(seeded_floor_db(phone_on(40 + seed), memory, 1e-4)[PHONE_BINS].mean()) for seed in range(3)]
    assert max(map(abs, back)) < 0.5, f"the phone's bins seeded this far off the noise (dB) once it was back: {back}"


def test_a_weak_phone_across_most_of_the_band_in_the_remembered_seeds_does_not_pull_the_rest_low() -> None:
    """An LTE phone can fill most of a 2.4 MHz capture. Scaling the remembered seeds by the band's change seeded
    the bins it never reached 1-1.5 dB low once it stopped (48 false bursts in one devset clip's dwells)."""
    memory, rng = FloorMemory(), np.random.default_rng(14)
    for seed in range(2):
        wide = scene(FS, DWELL_S, [Rect(0.0, DWELL_S, 200e3, 1.6e6, 1.5)], noise_power=1e-4, seed=40 + seed)
        seeded_floor_db(wide, memory, 1e-4)
    quiet = seeded_floor_db(noise(int(DWELL_S * FS), 1e-4, rng), memory, 1e-4)
    untouched = quiet[GEOMETRY.nfft // 2 - 100 : GEOMETRY.nfft // 2 - 70]
    assert abs(float(np.median(untouched))) < 0.3, f"bins it never reached seeded {np.median(untouched):.2f} dB off"


@pytest.mark.parametrize("frames", [256, 100])
def test_the_seed_is_each_bins_quantile_of_the_first_spectra(frames: int) -> None:
    """np.quantile's answer for a full seed (its rank q (n - 1) is whole at 256 frames); the nearest rank for fewer."""
    spectra = np.random.default_rng(15).exponential(1.0, (frames + 50, GEOMETRY.nfft)).astype(np.float32)
    floor = NoiseFloor(GEOMETRY.nfft)
    floor.seed(spectra[:frames])
    q = floor.config.seed_quantile
    expected = np.sort(spectra[:frames], axis=0)[round(q * (frames - 1))] / -np.log1p(-q)
    if frames == 256:
        assert np.array_equal(np.sort(spectra[:frames], axis=0)[51], np.quantile(spectra[:frames], q, axis=0))
    np.testing.assert_allclose(floor.mean_power_per_bin(), expected, rtol=1e-6)
