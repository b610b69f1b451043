"""Burst samples on demand, from the sim.signals generators, cached as a small pool per waveform.

A burst's waveform key (`gsm_normal`, `lte_pusch:12:3`, `lora:7:20`, ...) and sample rate pick a
pool of `POOL_SIZE` realisations (different bits, training sequences, Zadoff-Chu roots); a burst
takes the one its id selects. Reusing realisations is what makes rendering fast (a GMSK burst costs
milliseconds to modulate, a lookup nothing) and changes nothing the detector or a locator can see:
energy, band, timing and envelope statistics are those of fresh bursts.

Wideband emitters (impulses, a blocker's noise) are made directly in the tuned band: only the part
of their spectrum inside the capture exists there, at its share of the power.
"""

from __future__ import annotations

import zlib
from functools import lru_cache

import numpy as np

from sim.signals import gsm, lte, non_phone, nr
from sim.signals.ofdm import NATIVE_FFT, to_capture_rate

POOL_SIZE = 8
WIDEBAND_WAVES = ("impulse", "blocker")


def _rng(key: str, sample_rate_hz: float, variant: int) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(key.encode()), int(sample_rate_hz), variant])


@lru_cache(maxsize=4096)
def burst_samples(key: str, sample_rate_hz: float, variant: int) -> tuple[np.ndarray, float]:
    """Realisation `variant` (0..POOL_SIZE-1) of a waveform: (samples of unit mean power over the
    burst's useful part, lead_s: how long before the burst's nominal start the samples begin)."""
    rng = _rng(key, sample_rate_hz, variant)
    family, *args = key.split(":")
    numbers = [int(a) for a in args]
    fs = sample_rate_hz
    if family == "gsm_normal":
        return gsm.gmsk(gsm.normal_burst_bits(rng, int(rng.integers(0, 8))), fs)
    if family == "gsm_access":
        return gsm.gmsk(gsm.access_burst_bits(rng), fs)
    if family == "lte_pusch":
        return to_capture_rate(lte.pusch_samples(numbers[0], numbers[1], rng), lte.NATIVE_RATE_HZ, fs), 0.0
    if family == "lte_pucch":
        return to_capture_rate(lte.pucch_slot_samples(rng), lte.NATIVE_RATE_HZ, fs), 0.0
    if family == "lte_srs":
        return to_capture_rate(lte.srs_samples(numbers[0], rng), lte.NATIVE_RATE_HZ, fs), 0.0
    if family == "lte_prach":
        return to_capture_rate(lte.prach_samples(rng), lte.NATIVE_RATE_HZ, fs), 0.0
    if family == "nr_pusch":
        native = nr.pusch_samples(numbers[0], numbers[1], 15e3, rng)
        return to_capture_rate(native, NATIVE_FFT * 15e3, fs), 0.0
    if family == "lora":
        return non_phone.lora(fs, 0.0, numbers[0], 0.0, numbers[1], 0.0, rng).bursts[0].samples, 0.0
    if family == "fsk":
        return non_phone.gfsk(fs, 0.0, 0.0, numbers[0], 0.0, rng).bursts[0].samples, 0.0
    raise ValueError(f"no waveform for key {key!r}")


def continuous_samples(key: str, sample_rate_hz: float, start_s: float, count: int, seed: int) -> np.ndarray:
    """`count` samples from `start_s` (absolute time) of a continuous emitter, unit power, at 0 Hz."""
    if key == "cw":
        rng = np.random.default_rng([seed, round(start_s * sample_rate_hz)])
        return non_phone.cw(sample_rate_hz, 0.0, start_s, count / sample_rate_hz, 0.0, rng).bursts[0].samples[:count]
    raise ValueError(f"no continuous waveform for key {key!r}")


def wideband_samples(
    key: str, sample_rate_hz: float, count: int, low_hz: float, high_hz: float, seed: int, start_sample: int
) -> np.ndarray:
    """Noise-like wideband emission occupying [low_hz, high_hz] of the capture (relative to its centre),
    power normalised to 1 over that part; the caller scales by the share of the emission's power there."""
    rng = np.random.default_rng([seed, start_sample, zlib.crc32(key.encode())])
    noise = rng.standard_normal(2 * count, dtype=np.float32).view(np.complex64)
    if key == "impulse":
        decay = np.exp(-np.arange(count) / max(1.0, count / 3)).astype(np.float32)
        noise = noise * decay
    if high_hz - low_hz < sample_rate_hz * 0.999 and count > 1:
        spectrum = np.fft.fft(noise)
        freqs = np.fft.fftfreq(count, 1 / sample_rate_hz)
        spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0
        noise = np.fft.ifft(spectrum).astype(np.complex64)
    power = float(np.mean(np.abs(noise) ** 2))
    return noise / np.float32(np.sqrt(power)) if power > 0 else noise
