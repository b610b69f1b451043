"""Burst features: the band filter against its definition, and degenerate regions (a sensor node must never
crash on a dwell)."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.bursts import core_frames
from dsp.features import _spectral_shape, band_limited


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_region_below_the_floor_has_no_shape_rather_than_a_division_by_zero():
    # the demo's IQ node died on this (ZeroDivisionError): no frame of the region stands above the floor,
    # so core_frames chose none and the band profile was the mean of nothing
    below_floor = np.full((3, 5), 0.5, np.float32)
    assert core_frames(below_floor.sum(axis=1) - 5).all()
    assert _spectral_shape(below_floor, 10e3) == {"bw_3db_hz": 0.0, "flatness": 0.0}
    burst = np.ones((4, 6), np.float32)
    burst[:, 2:4] = 20.0
    shape = _spectral_shape(burst, 10e3)
    assert shape["bw_3db_hz"] > 0 and 0 < shape["flatness"] <= 1


@pytest.mark.parametrize("n", [1, 2, 97, 256, 577, 1385, 1999])  # primes and lengths padded to 320, 1400, 2000
def test_the_band_filter_keeps_the_band_and_zeroes_the_rest_as_its_definition_does(n: int) -> None:
    fs, low_hz, high_hz = 2.4e6, -300e3, 200e3
    t = np.arange(n) / fs
    inside = np.exp(2j * np.pi * 100e3 * t)
    outside = np.exp(2j * np.pi * 700e3 * t)
    samples = (inside + outside).astype(np.complex64)
    padded = next(m for m in range(n, 2 * n + 8) if _largest_prime_factor(m) <= 11)
    spectrum = np.fft.fft(samples.astype(np.complex128), padded)
    freqs = np.fft.fftfreq(padded, 1 / fs)
    spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0
    expected = np.fft.ifft(spectrum)[:n]
    filtered = band_limited(samples, fs, low_hz, high_hz)
    assert filtered.dtype == np.complex64 and filtered.shape == (n,)
    np.testing.assert_allclose(filtered, expected, rtol=0, atol=1e-5 * max(np.abs(expected).max(), 1.0))
    if n >= 577:  # long enough for the two tones to fall in separate bins, far from the band's edges
        assert np.abs(np.vdot(inside, filtered)) / n > 0.95
        assert np.abs(np.vdot(outside, filtered)) / n < 0.05


def test_the_band_filter_of_no_samples_is_no_samples() -> None:
    assert band_limited(np.zeros(0, np.complex64), 2.4e6, -1e5, 1e5).shape == (0,)


def _largest_prime_factor(m: int) -> int:
    largest, p = 1, 2
    while p * p <= m:
        while m % p == 0:
            largest, m = p, m // p
        p += 1
    return max(largest, m)
