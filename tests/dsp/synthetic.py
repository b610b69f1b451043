"""Band-limited noise bursts in white noise: generic energy for testing the detector's mechanics.

Technology-faithful waveforms come from `sim.signals`; these are plain rectangles in time and frequency
with an exact SNR, so that detection and measurement can be checked against known numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rect:
    start_s: float
    duration_s: float
    offset_hz: float
    bandwidth_hz: float
    snr_db: float


def noise(num_samples: int, noise_power: float, rng: np.random.Generator) -> np.ndarray:
    """Complex white Gaussian noise with mean |x|^2 = noise_power."""
    scale = np.sqrt(noise_power / 2)
    return (rng.normal(0, scale, num_samples) + 1j * rng.normal(0, scale, num_samples)).astype(np.complex64)


def band_noise(
    num_samples: int, sample_rate_hz: float, offset_hz: float, bandwidth_hz: float, rng: np.random.Generator
) -> np.ndarray:
    """Unit-power complex noise occupying [offset - bw/2, offset + bw/2] with a flat spectrum."""
    spectrum = rng.normal(size=num_samples) + 1j * rng.normal(size=num_samples)
    freqs = np.fft.fftfreq(num_samples, 1 / sample_rate_hz)
    spectrum[np.abs(freqs - offset_hz) > bandwidth_hz / 2] = 0
    x = np.fft.ifft(spectrum)
    return (x / np.sqrt(np.mean(np.abs(x) ** 2))).astype(np.complex64)


def scene(
    sample_rate_hz: float, duration_s: float, rects: list[Rect], noise_power: float = 1e-4, seed: int = 0
) -> np.ndarray:
    """White noise plus each rectangle at its SNR (signal power / noise power in its bandwidth)."""
    rng = np.random.default_rng(seed)
    x = noise(round(duration_s * sample_rate_hz), noise_power, rng)
    for r in rects:
        n = round(r.duration_s * sample_rate_hz)
        start = round(r.start_s * sample_rate_hz)
        in_band_noise = noise_power * r.bandwidth_hz / sample_rate_hz
        power = in_band_noise * 10 ** (r.snr_db / 10)
        x[start : start + n] += np.sqrt(power) * band_noise(n, sample_rate_hz, r.offset_hz, r.bandwidth_hz, rng)
    return x
