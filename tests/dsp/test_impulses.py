"""Impulse blanking tells a transient from the shortest phone transmission by the samples' time profile."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.impulses import ImpulseConfig, is_transient

FS = 2.048e6
SPAN = 512  # a 256-sample frame and a hop either side, as the detector reads them
CONFIG = ImpulseConfig()


def noise(rng: np.random.Generator, n: int = SPAN) -> np.ndarray:
    return ((rng.normal(size=n) + 1j * rng.normal(size=n)) / np.sqrt(2)).astype(np.complex64)


def transient(span: np.ndarray, start: int, duration_s: float, energy: float, rng: np.random.Generator) -> None:
    """Add a damped noise burst (switching, ignition) holding `energy` noise-sample units."""
    n = round(duration_s * FS)
    decay = np.exp(-np.arange(n) / (n / 3))
    burst = decay * noise(rng, n)
    span[start : start + n] += burst * np.sqrt(energy / np.sum(np.abs(burst) ** 2))


def srs_symbol(span: np.ndarray, start: int, energy: float, rng: np.random.Generator) -> None:
    """Add a constant-envelope 71.4 us SC-FDMA symbol (a Zadoff-Chu SRS has a flat envelope) of `energy`."""
    n = round(71.4e-6 * FS)
    phase = np.exp(2j * np.pi * rng.uniform(size=n))
    span[start : start + n] += phase * np.sqrt(energy / n)


def judged(make, trials: int = 200, seed: int = 1) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(trials):
        span = noise(rng) + 0.05  # a DC offset, as every RTL-SDR has
        make(span, rng)
        hits += is_transient(span, FS, CONFIG)
    return hits / trials


@pytest.mark.parametrize("duration_s", [4e-6, 10e-6, 25e-6])
def test_weak_short_transients_are_recognised(duration_s: float) -> None:
    # 11 dB over the whole band: the impulses whose faded spectra slipped past the band test
    energy = 12.6 * duration_s * FS
    share = judged(lambda s, rng: transient(s, int(rng.integers(100, 380)), duration_s, energy, rng))
    assert share >= 0.95, f"a {duration_s * 1e6:.0f} us transient at 11 dB recognised {share:.2f} of the time"


@pytest.mark.parametrize(("snr_db", "most"), [(0.0, 0.04), (3.0, 0.01), (6.0, 0.0), (20.0, 0.0)])
def test_an_srs_symbol_is_not_a_transient(snr_db: float, most: float) -> None:
    # the shortest phone transmission. At 0 dB over the whole capture a 16 us window holds only about 6
    # noise sigmas of it, and about 1 symbol in 40 happens to look short (such a symbol filling the band
    # was blanked before the time test, which only judges frames whose side looks quiet)
    energy = 10 ** (snr_db / 10) * 71.4e-6 * FS
    share = judged(lambda s, rng: srs_symbol(s, int(rng.integers(60, 300)), energy, rng), trials=1000)
    assert share <= most, f"an SRS symbol at {snr_db:.0f} dB taken for a transient {share:.3f} of the time"


def test_noise_alone_is_not_a_transient() -> None:
    assert judged(lambda s, rng: None, trials=2000) == 0.0
