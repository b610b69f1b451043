import numpy as np
import pytest

from dsp.cfar import (
    BoxBank,
    CfarConfig,
    _integral_image,
    box_detections,
    box_sum_threshold,
    correlation_inflation,
    tile_sums,
)
from dsp.noise_floor import NoiseFloor
from dsp.spectrum import SpectrumGeometry, power_spectra
from tests.dsp.synthetic import noise

GEOMETRY = SpectrumGeometry.for_rate(2.4e6)


def normalised_noise(seconds: float, seed: int) -> np.ndarray:
    x = noise(int(seconds * GEOMETRY.sample_rate_hz), 1e-4, np.random.default_rng(seed))
    spectra = np.empty((GEOMETRY.frames_in(len(x)), GEOMETRY.nfft), np.float32)
    power_spectra(x, GEOMETRY.window(), GEOMETRY.hop, spectra)
    z = np.empty_like(spectra)
    NoiseFloor(GEOMETRY.nfft).normalise(spectra, z)
    return z


def test_hann_cells_correlate_as_the_window_predicts() -> None:
    z = normalised_noise(2.0, 1)
    frames, bins = 4, 16
    sums = z[: (z.shape[0] // frames) * frames, : bins * 8].reshape(-1, frames, 8, bins).sum(axis=(1, 3))
    measured = sums.var() / (frames * bins)
    predicted = correlation_inflation(GEOMETRY, frames, bins)
    assert measured == pytest.approx(predicted, rel=0.1), "box-sum variance must match the window model"


@pytest.mark.parametrize("probability", [1e-2, 1e-3])
def test_box_threshold_gives_the_configured_false_alarm_rate(probability: float) -> None:
    z = normalised_noise(4.0, 2)
    frames, bins = 9, 16
    threshold = box_sum_threshold(GEOMETRY, frames, bins, probability)
    usable = z[:, 16:-16]
    sums = usable[: (usable.shape[0] // frames) * frames].reshape(-1, frames, usable.shape[1])
    sums = sums.sum(axis=1)[:, : (usable.shape[1] // bins) * bins].reshape(sums.shape[0], -1, bins).sum(axis=2)
    rate = float((sums > threshold).mean())
    assert probability / 2 < rate < probability * 2, f"false-alarm rate {rate:.2e} for configured {probability:.0e}"


def detections(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bank = BoxBank.build(GEOMETRY, CfarConfig())
    tiles = np.empty((z.shape[0], GEOMETRY.nfft // bank.tile_bins), np.float32)
    tile_sums(z, bank.tile_bins, tiles)
    seeds = np.zeros(tiles.shape, np.bool_)
    region = np.zeros(tiles.shape, np.bool_)
    box_detections(tiles, bank.frames, bank.tiles, bank.thresholds, bank.is_seed, seeds, region)
    return seeds, region


def test_no_seed_in_noise_at_the_operating_false_alarm_probability() -> None:
    seeds, region = detections(normalised_noise(2.0, 3))
    assert seeds.sum() == 0, "1e-10 per test must leave 2 s of noise without a single seed"
    assert region.sum() == 0, "without a seed the hysteresis map is not needed and is left empty"


def test_hysteresis_map_marks_a_small_share_of_the_noise_around_a_seed() -> None:
    z = normalised_noise(2.0, 3)
    z[20000:20020, 100:140] += 3.0  # a 1 ms x 375 kHz burst at about 5 dB
    seeds, region = detections(z)
    tiles = slice(100 // 4, 140 // 4)
    assert seeds[20000:20020, tiles].any(), "the burst must seed"
    assert not seeds[:19900].any() and not seeds[20100:].any(), "no seed in the noise away from the burst"
    noise_share = float(region[:19900].mean())
    assert 0 < noise_share < 0.2, f"the hysteresis map marks some noise, but only a small share: {noise_share:.3f}"


def box_by_box(tiles: np.ndarray, bank: BoxBank) -> tuple[np.ndarray, np.ndarray]:
    """box_detections' contract, one box at a time: every box on its quarter-size grid whose exact (float64)
    sum passes its threshold marks its grid cell's centres (seed boxes) or its footprint (region boxes)."""
    frames, ntiles = tiles.shape
    integral = np.zeros((frames + 1, ntiles + 1))
    integral[1:, 1:] = tiles.astype(np.float64).cumsum(axis=1).cumsum(axis=0)
    seeds, region = np.zeros(tiles.shape, np.bool_), np.zeros(tiles.shape, np.bool_)
    for seed_boxes in (True, False):
        for kt, kf, threshold, is_seed in zip(bank.frames, bank.tiles, bank.thresholds, bank.is_seed, strict=True):
            if is_seed != seed_boxes or kt > frames or kf > ntiles:
                continue
            step_t, step_f = max(1, kt // 4), max(1, kf // 4)
            for t in range(0, frames - kt + 1, step_t):
                time_sums = integral[t + kt] - integral[t]
                for j in range(0, ntiles - kf + 1, step_f):
                    if time_sums[j + kf] - time_sums[j] <= threshold:
                        continue
                    if seed_boxes:
                        centre = (slice(t + kt // 2, t + kt // 2 + step_t), slice(j + kf // 2, j + kf // 2 + step_f))
                        seeds[centre] = region[centre] = True
                    else:
                        region[t : t + kt, j : j + kf] = True
        if not seeds.any():
            break
    return seeds, region


def test_the_box_search_marks_what_testing_every_box_one_by_one_marks() -> None:
    z = normalised_noise(0.25, 4)
    rng = np.random.default_rng(4)
    for _ in range(40):  # bursts of every size and strength, some overlapping, some at the band edges
        t, k = int(rng.integers(0, z.shape[0] - 40)), int(rng.integers(0, GEOMETRY.nfft - 8))
        z[t : t + int(rng.integers(2, 40)), k : k + int(rng.integers(2, 60))] += float(rng.uniform(0.2, 4.0))
    bank = BoxBank.build(GEOMETRY, CfarConfig())
    tiles = np.empty((z.shape[0], GEOMETRY.nfft // bank.tile_bins), np.float32)
    tile_sums(z, bank.tile_bins, tiles)
    seeds, region = detections(z)
    expected_seeds, expected_region = box_by_box(tiles, bank)
    assert expected_seeds.any() and expected_region.sum() > expected_seeds.sum(), "the bursts seed and spread"
    assert np.array_equal(seeds, expected_seeds)
    assert np.array_equal(region, expected_region)


@pytest.mark.parametrize("frames", [0, 1, 3, 4, 6, 131])
def test_the_integral_image_adds_as_running_sums_along_frequency_then_time(frames: int) -> None:
    tiles = np.random.default_rng(frames).exponential(4.0, (frames, 64)).astype(np.float32)
    expected = np.zeros((frames + 1, 65))
    expected[1:, 1:] = np.cumsum(np.cumsum(tiles.astype(np.float64), axis=1), axis=0)  # cumsum adds in order
    np.testing.assert_array_equal(_integral_image(tiles), expected)


def test_box_bank_matches_phone_burst_shapes() -> None:
    bank = BoxBank.build(GEOMETRY, CfarConfig())
    durations_ms = (bank.frames - 1) * GEOMETRY.hop_s * 1e3 + GEOMETRY.nfft / GEOMETRY.sample_rate_hz * 1e3
    assert any(abs(d - 0.55) < 0.06 for d in durations_ms[bank.is_seed]), "a GSM-slot box is needed"
    assert any(abs(d - 1.0) < 0.06 for d in durations_ms[bank.is_seed]), "an LTE-subframe box is needed"
